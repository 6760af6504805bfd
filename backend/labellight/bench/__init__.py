"""`labellight bench`: the label-efficiency benchmark of the real pipeline (a client of the services)."""
