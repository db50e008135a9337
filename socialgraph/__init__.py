"""socialgraph: the entry points on the top floor: the `socialgraph` CLI (operator, seed and
analyst commands), the local-stack manager and the offline evaluation."""
