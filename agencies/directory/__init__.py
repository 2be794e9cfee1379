"""The service directory (issue 14): who offers which service where, for whom,
and how many places are free now. Organisations only, never people.

- `visibility`: the one rule for confidential locations (a shelter's address);
- `geo`: TERYT gmina codes to centroids, and distances;
- `services` / `selectors`: every write and read of the directory;
- `hsds`: the directory as Open Referral HSDS 3.1 documents."""
