import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

# the suite never reads or writes the user's cache: one fresh directory per session
os.environ["LOLA_SYM_CACHE_DIR"] = tempfile.mkdtemp(prefix="lola_sym_test_cache_")
os.environ.pop("LOLA_SYM_NO_CACHE", None)

from hypothesis import settings  # noqa: E402

settings.register_profile("lola", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("lola")
