"""Read-only exchange sync over ccxt: the only package that imports ccxt (lazily).

Importing ``crossmargin.sync`` (or any module below) never imports ccxt; ccxt loads
when a client is created. Public pieces:

* :mod:`.config`: :class:`AccountConfig` (label, exchange id, network, endpoint
  override, poll interval), :class:`AccountRegistry`, :class:`Credentials`.
* :mod:`.secrets`: keyring / encrypted-file / memory secret stores.
* :mod:`.client`: :func:`create_exchange` (the real ccxt class, no hidden calls).
* :mod:`.model`: :class:`FetchedCycle` and its Decimal records.
* :mod:`.cycle`: :func:`run_cycle` (one atomic cycle for one account).
* :mod:`.service`: :class:`SyncService` (worker threads, polling, status) and
  :class:`MarkFeed` (live public mark prices).
* :mod:`.faults`, :mod:`.status`, :mod:`.reconcile`, :mod:`.journal_port`.
"""
