"""``python -m descend`` is the ``descend`` command."""

from .cli import main

if __name__ == "__main__":
    main()
