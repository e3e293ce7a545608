"""Agent runs on DBOS Transact: the engine (:mod:`.engine`), the workflow (:mod:`.workflow`)
and what its steps call (:mod:`.calls`)."""
