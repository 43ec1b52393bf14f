"""S3 Select (SelectObjectContent): the S3 Select SQL dialect answered by DuckDB next to the data.

One module per job: ``request`` (the request XML), ``syntax`` + ``tree`` (the SQL grammar and its
AST), ``translate`` (the AST rendered as DuckDB SQL), ``inputs`` / ``outputs`` (serialization
options), ``source`` (the object's bytes as a file DuckDB reads), ``engine`` (the query in a worker
thread), ``events`` (the event-stream framing). The handler is ``s3/handlers/select.py``.
"""
