"""Planning rules and the checks against them (land per capita for now; the full rule book
with sources per city arrives as data files beside this module)."""

from siting.rules.land import LAND_PER_CAPITA_SOURCE, land_check

__all__ = ["LAND_PER_CAPITA_SOURCE", "land_check"]
