"""Call flows as data: YAML files of states, each a verb with params and
transitions, validated before a call is taken and run by one engine."""
