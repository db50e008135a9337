"""socialgraph: operator-facing pieces shared by the API, the graph layer and the seeds."""
