"""Names of the metrics the runtime's servers expose and its jobs read back (the serving class, the local
executor, the canary analysis). The rendered rules name the same series (renderers/monitoring.py)."""

EXECUTOR_REQUESTS = "seldon_api_executor_server_requests_seconds"  # Seldon's executor: requests by code
REQUEST_FAILURES = "mlplat_request_failures"  # the model server's refused requests, by reason (a counter)
