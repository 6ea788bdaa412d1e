"""The engine process's entry point: `python -m app.services.tts.engine_child FD`, FD one end of a socket pair."""

import sys
from multiprocessing.connection import Connection

from app.services.tts.engine_process import serve

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
