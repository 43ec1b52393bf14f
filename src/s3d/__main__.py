import sys

from s3d.cli import main

sys.exit(main())
