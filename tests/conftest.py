import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from hypothesis import settings  # noqa: E402

settings.register_profile("lola", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("lola")
