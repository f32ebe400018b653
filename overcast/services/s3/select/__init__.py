"""S3 Select: the SQL subset (``sql.py`` parses, ``evaluate.py`` runs), the input readers
(``inputs.py``: CSV, JSON, Parquet; GZIP/BZIP2) and output writers (``outputs.py``).
SelectObjectContent itself is ``overcast/services/s3/select_object.py``."""
