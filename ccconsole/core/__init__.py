"""The domain of ccconsole, pure Python: no Textual, no SQL, no I/O.

Every rule of the domain (shared/docs/domain.md) has exactly one implementation here; the store,
the command line and the console all call it.
"""
