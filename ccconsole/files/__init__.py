"""Reading and writing contacts files (.csv / .xlsx): no database code.

``sheets`` reads a file into batches of parsed rows (in reader processes for big files);
``writers`` writes the export's rows as csv or xlsx. The store's importer and exporter call them.
"""
