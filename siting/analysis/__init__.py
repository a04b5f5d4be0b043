"""Stage 5: reading a Solution — coverage before and after, supply per site, 2SFCA access,
coverage against walking time and the inequality between 街道/乡镇."""
