"""4D NetKit's ``mail.notifier()`` and ``calendar.notifier()``: told when mail or events change.

``Notifier`` holds 4D's parameter object (``onCreate``, ``onModify``, ``onDelete``, ``endPoint``,
``timer``; ``listen`` is ours), picks pull (delta, ``_notifier_pull``) or push (a subscription,
``_notifier_push``) and runs the callbacks: on one thread of its own, in order, never two at once;
an exception in a callback is logged and the notifier goes on. Adjacent changes of one kind waiting
together reach the callback as one call with every id. ``stop()`` returns once no callback will be
called again (from inside a callback it returns at once, and that callback is the last).
``changes()`` iterates the same changes without callbacks.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Optional, Union
from urllib.parse import quote, urlsplit

from .._exceptions import ConfigError, NetKitError
from ._notifier_pull import DeltaStreams, PullSource
from ._notifier_push import PushSource
from ._options import check_keys
from ._status import Status
from ._transport import Transport

log = logging.getLogger("netkit_msal.office365.notifier")

Callback = Callable[["Notifier", dict], Any]
_KEYS = ("onCreate", "onModify", "onDelete", "endPoint", "timer", "listen")
_CALLBACK_OF = {"created": "onCreate", "updated": "onModify", "deleted": "onDelete"}
_WORD = {"created": "Created", "updated": "Modified", "deleted": "Deleted"}
_STOP = object()
#: 4D's defaults: poll every 30 s; ask for 4200 minutes (70 h); renew an hour before the end.
DEFAULT_TIMER = 30
DEFAULT_LIFETIME = 4200
DEFAULT_RENEW_MARGIN = 3600.0


def _address(key: str, text: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``host`` as a (host, port) to listen on."""
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{key}: bad port in {text!r}", key=key) from None
    return parts.hostname or "127.0.0.1", default_port if port is None else port


def _params(params: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"notifier: the parameter must be an object (dict), not {type(params).__name__}",
                          key="param", code=10)
    check_keys(params, _KEYS, "notifier")
    values = {k: v for k, v in params.items() if v is not None}
    for key in ("onCreate", "onModify", "onDelete"):
        if key in values and not callable(values[key]):
            raise ConfigError(f"notifier: {key} must be a function f(notifier, change)", key=key, code=10)
    timer = values.get("timer", DEFAULT_TIMER)
    if isinstance(timer, bool) or not isinstance(timer, (int, float)) or timer <= 0:
        raise ConfigError(f"notifier: timer must be a number of seconds above 0, not {timer!r}", key="timer")
    values["timer"] = timer
    end_point = values.get("endPoint", "")
    if not isinstance(end_point, str):
        raise ConfigError("notifier: endPoint must be a URL (text)", key="endPoint", code=10)
    if end_point:
        parts = urlsplit(end_point)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(f"notifier: endPoint must be an http(s) URL without query, not {end_point!r}",
                              key="endPoint")
        default_port = 443 if parts.scheme == "https" else 80
        values["listen"] = _address("listen", str(values["listen"]), default_port) if "listen" in values \
            else _address("endPoint", parts.netloc, default_port)
    elif "listen" in values:
        raise ConfigError("notifier: listen is for push mode: give endPoint too", key="listen")
    return values


#: Started notifiers, stopped at exit so that no subscription outlives the process (4D closes the
#: subscription when the notifier object goes).
_running: weakref.WeakSet[Notifier] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for notifier in list(_running):
        try:
            notifier.stop()
        except Exception:  # at exit: tell, and go on with the others
            log.exception("notifier: stopping at exit failed")


class Notifier:
    """Change notifications for one mail folder or calendar (4D's ``GraphNotification``).

    ``param`` holds 4D's keys (``listen`` is ours: the local ``host:port`` to receive on when
    ``endPoint`` is a public address in front of this machine). Push mode keyword arguments:
    ``lifetime`` (minutes the subscription is asked for, 4200 as 4D; Graph allows 10080 at most) and
    ``renew_margin`` (seconds before expiration to renew, 3600 as 4D).
    """

    def __init__(self, transport: Transport, kind: str, resource: str, delta_path: str,
                 params: Optional[Mapping[str, Any]], *, lifetime: int = DEFAULT_LIFETIME,
                 renew_margin: float = DEFAULT_RENEW_MARGIN) -> None:
        values = _params(params)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 1 <= lifetime <= 10080:
            raise ConfigError("notifier: lifetime must be from 1 to 10080 minutes (Graph's limit)", key="lifetime")
        if isinstance(renew_margin, bool) or not isinstance(renew_margin, (int, float)) or renew_margin < 0:
            raise ConfigError("notifier: renew_margin must be a number of seconds, 0 or more", key="renew_margin")
        self._transport = transport
        self._kind = kind  # "mail" or "event"
        self._resource = resource
        self._delta_path = delta_path
        self._callbacks: dict[str, Callback] = {c: values[k] for c, k in _CALLBACK_OF.items() if k in values}
        #: Change types watched: those with a callback, or all three when there is none (as 4D).
        self._changes = tuple(c for c in _CALLBACK_OF if c in self._callbacks) or tuple(_CALLBACK_OF)
        self._timer: Union[int, float] = values["timer"]
        self._end_point: str = values.get("endPoint", "")
        self._listen: Optional[tuple[str, int]] = values.get("listen")
        self._lifetime = lifetime
        self._renew_margin = renew_margin
        self._source: Union[PullSource, PushSource, None] = None
        self._queue: queue.Queue = queue.Queue()
        self._changes_queue: queue.Queue = queue.Queue()
        self._buffering = not self._callbacks
        self._stopping = threading.Event()
        self._dispatcher: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._started = False

    # -- 4D's members ---------------------------------------------------------------------------
    @property
    def is_started(self) -> bool:
        return self._started

    @property
    def expiration(self) -> str:
        """ISO 8601 end of the current subscription; "" in pull mode or when stopped."""
        return self._source.expiration if self._started and self._source is not None else ""

    @property
    def timer(self) -> Union[int, float]:
        return self._timer

    @property
    def end_point(self) -> str:
        """4D's ``endPoint`` ("" in pull mode); with port 0, the port the receiver got once started."""
        source = self._source
        return source.end_point if self._started and isinstance(source, PushSource) else self._end_point

    isStarted = is_started
    endPoint = end_point

    @property
    def mode(self) -> str:
        return "push" if self._end_point else "pull"

    def __repr__(self) -> str:
        return (f"<Notifier {self._kind} {self.mode} started={self._started} "
                f"changes={','.join(self._changes)}>")

    # -- start and stop -------------------------------------------------------------------------
    def start(self) -> Status:
        """Start watching; a 4D status (``success`` false with the reason when Graph or the port refused)."""
        with self._lock:
            if self._started:
                return Status.ok(200, "already started")
            self._stopping.clear()
            self._queue = queue.Queue()
            self._changes_queue = queue.Queue()
            streams = DeltaStreams(self._transport, self._kind, self._delta_path, self._changes)
            if self._end_point:
                assert self._listen is not None
                source: Union[PullSource, PushSource] = PushSource(
                    self._transport, self._resource, self._changes, self._end_point, self._listen, streams,
                    self._emit, lifetime=self._lifetime, renew_margin=self._renew_margin)
            else:
                source = PullSource(streams, self._emit, self._timer)
            dispatcher = threading.Thread(target=self._dispatch, args=(self._queue,),
                                          name=f"netkit-notifier-{self._kind}", daemon=True)
            dispatcher.start()
            try:
                source.start()
            except BaseException as error:
                self._queue.put(_STOP)
                dispatcher.join()
                if isinstance(error, NetKitError):
                    return Status.failed(error)
                raise
            self._source, self._dispatcher, self._started = source, dispatcher, True
            _running.add(self)
            return Status.ok(200)

    def stop(self) -> Status:
        """Stop watching (push: delete the subscription); returns when no callback will run again."""
        with self._lock:
            if not self._started:
                return Status.ok(200, "not started")
            self._stopping.set()
            error: Optional[NetKitError] = None
            try:
                assert self._source is not None
                self._source.stop()
            except NetKitError as failed:
                error = failed
            self._queue.put(_STOP)
            if self._dispatcher is not None and self._dispatcher is not threading.current_thread():
                self._dispatcher.join()
            self._started = False
            _running.discard(self)
            self._changes_queue.put(_STOP)
            return Status.failed(error) if error is not None else Status.ok(200)

    def __enter__(self) -> Notifier:
        self.start().raise_for_status()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- changes --------------------------------------------------------------------------------
    def changes(self, timeout: Optional[float] = None) -> Iterator[dict]:
        """The changes as ``{"type", "ids"}`` dicts, until ``stop()`` or ``timeout`` seconds without one.

        With no callback, every change since ``start()`` is kept for this; with callbacks, the
        changes from the first call on.
        """
        self._buffering = True
        while self._started or not self._changes_queue.empty():
            try:
                item = self._changes_queue.get(timeout=timeout)
            except queue.Empty:
                return
            if item is _STOP:
                return
            yield item

    def _emit(self, change: str, ids: list[str]) -> None:
        if ids and not self._stopping.is_set():
            self._queue.put((change, list(ids)))

    def _dispatch(self, inbox: queue.Queue) -> None:
        """The notifier's thread: callbacks one at a time, in order, until stopped."""
        while True:
            item = inbox.get()
            if item is _STOP or self._stopping.is_set():
                return
            change, ids = item
            while True:  # adjacent changes of one kind waiting together: one call
                try:
                    following = inbox.queue[0]
                except IndexError:
                    break
                if following is _STOP or following[0] != change:
                    break
                ids.extend(i for i in inbox.get()[1] if i not in ids)
            event = {"type": f"{self._kind}{_WORD[change]}", "ids": ids}
            if self._buffering:
                self._changes_queue.put(dict(event, ids=list(ids)))
            callback = self._callbacks.get(change)
            if callback is None or self._stopping.is_set():
                continue
            try:
                callback(self, event)
            except Exception:  # a callback's bug must not end the notifier
                log.exception("notifier: the %s callback raised", _CALLBACK_OF[change])


def mail_notifier(transport: Transport, base: str, params: Optional[Mapping[str, Any]],
                  folder_id: Optional[str] = None, **options: Any) -> Notifier:
    """A notifier for one mail folder (the inbox by default, as 4D's code does)."""
    folder = quote(folder_id or "inbox", safe="")
    return Notifier(transport, "mail", f"{base}/mailFolders('{folder}')/messages",
                    f"{base}/mailFolders/{folder}/messages/delta", params, **options)


def calendar_notifier(transport: Transport, base: str, params: Optional[Mapping[str, Any]],
                      calendar_id: Optional[str] = None, **options: Any) -> Notifier:
    """A notifier for one calendar (every calendar of the mailbox when ``calendar_id`` is None)."""
    if calendar_id:
        calendar = quote(calendar_id, safe="")
        return Notifier(transport, "event", f"{base}/calendars/{calendar}/events",
                        f"{base}/calendars/{calendar}/calendarView/delta", params, **options)
    return Notifier(transport, "event", f"{base}/events", f"{base}/calendarView/delta", params, **options)
