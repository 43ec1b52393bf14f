"""`s3d mount`: a bucket (or a prefix of one) as a FUSE filesystem, as a client of the daemon over S3.

settings.py what to mount and how; objects.py the S3 calls; errors.py S3 errors as errno; attrs.py object
metadata as stat; cache.py attributes and listings for the attribute cache time; reader.py ranged reads with
read-ahead; staging.py writes staged in a local file; fs.py the filesystem operations; run.py mounting,
unmounting and detaching; daemon.py the `[[mount]]` entries the daemon binds itself.
"""
