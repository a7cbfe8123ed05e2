"""A Ctrl-C that lands in distributed's ``sync`` before its future exists makes its ``cancel``
callback raise ``NameError`` on the loop thread; tornado logs that traceback after scd has printed
its one line. ``connect`` drops exactly that record, and lets tornado's other errors through."""

from __future__ import annotations

import logging

from scd_core.cluster.connect import connect


def _unbound_future() -> NameError:
    """The NameError distributed's ``cancel`` raises: a closure's free variable not yet bound."""
    future: object

    def cancel() -> object:
        return future  # noqa: F821 - unbound on purpose, as in distributed.utils.sync

    try:
        cancel()
    except NameError as error:
        return error
    raise AssertionError("the closure's variable was bound")


def test_the_interrupted_sync_slip_is_dropped_and_other_tornado_errors_pass(caplog) -> None:
    slip, other = _unbound_future(), RuntimeError("a callback failed")
    with connect("local:1"):
        log = logging.getLogger("tornado.application")
        with caplog.at_level(logging.ERROR, logger="tornado.application"):
            log.error("Exception in callback", exc_info=(NameError, slip, slip.__traceback__))
            log.error("Exception in callback", exc_info=(RuntimeError, other, None))
    assert [record.exc_info[1] for record in caplog.records if record.exc_info] == [other]
