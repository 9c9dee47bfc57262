"""`python -m ccconsole` runs the same command line as the `ccconsole` script."""

from ccconsole.cli import main

if __name__ == "__main__":
    main()
