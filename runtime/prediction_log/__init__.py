"""The prediction-log sink: Seldon's request logger's CloudEvents in, hourly Parquet partitions out.

events.py reads one CloudEvent and turns a request and its response into rows; writer.py buffers the
rows and writes them in bounded batches; server.py is the HTTP server (`python -m runtime prediction-log`).
"""
