"""Demo-graph builders: small named demos, synthetic graphs, real public data sets."""
