"""``python -m siting.demo DIR`` (and ``province DIR --counties N``)."""

from siting.demo.district import main

main()
