"""Where a study lives: an Optuna study in an RDB storage (an SQLite file in the study folder by default, or a
PostgreSQL URL that several machines share), and the study folder on each machine (study.yaml, the trials'
run folders).

Optuna holds everything workers agree on, so that nothing else needs a lock or a scheduler:

    the spec          the study's user attribute "advnets_spec" (to_record: every worker reads the same one)
    the budget        "advnets_updates": each setting's updates, once calibrated
    a unit of work    one Optuna trial per (setting, seed), queued (WAITING) with user attributes
                      setting / seed; a worker takes one by moving it to RUNNING, which only one can do
                      (the storage's atomic state change, as Optuna's own ask() does)
    liveness          the trial's heartbeat (RDBStorage's): a trial whose worker stopped beating is failed by
                      the next worker (fail_stale_trials) and queued again (RetryHeartbeatStaleTrialCallback,
                      at most MAX_RETRIES times); its run folder resumes from its last checkpoint
    a result          the trial's value (the objective) and user attributes (the metric row, the run folder)
    a failure         a FAIL trial with its one-line reason (not retried)
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from advnets.errors import ConfigError
from advnets.studies.spec import StudySpec, from_record

STUDY_FILE = "study.yaml"  # in the study folder: the study's name and storage
DB_FILE = "study.db"  # the default storage (SQLite)
TRIALS_DIR = "trials"  # each trial's run folder: trials/<setting>-s<seed>
SPEC_ATTR, UPDATES_ATTR, TEST_ATTR = "advnets_spec", "advnets_updates", "advnets_test"
SETTING_ATTR = "advnets_setting:"  # + a setting's name: its overrides (the settings a tpe study draws)
MAX_RETRIES = 3  # a trial whose worker died is queued again at most this many times
HEARTBEAT_S, GRACE_S = 20, 60  # defaults: a worker beats every 20 s; silent for 60 s, its trial is stale


@dataclass(frozen=True)
class StudyFolder:
    """What study.yaml records: the study's name, its storage URL and the heartbeat it was created with."""

    path: Path
    name: str
    storage: str
    heartbeat_s: int = HEARTBEAT_S
    grace_s: int = GRACE_S

    def run_dir(self, setting: str, seed: int) -> Path:
        return self.path / TRIALS_DIR / f"{setting}-s{seed}"

    def write(self) -> None:
        import yaml

        from advnets.fileio import atomic_write_bytes

        text = yaml.safe_dump({"name": self.name, "storage": self.storage, "heartbeat_s": self.heartbeat_s,
                               "grace_s": self.grace_s}, sort_keys=False)
        atomic_write_bytes(self.path / STUDY_FILE, text.encode())


def read_folder(path: Path | str, storage: str | None = None) -> StudyFolder:
    """The study folder `path` (made by advnets study create); `storage` overrides its recorded URL."""
    from advnets.config import read_yaml

    path = Path(path)
    if not (path / STUDY_FILE).is_file():
        raise ConfigError(f"{path} is not a study folder (no {STUDY_FILE}); make one with advnets study create SPEC "
                          f"--out {path}")
    data = read_yaml(path / STUDY_FILE)
    try:
        return StudyFolder(path, str(data["name"]), storage or str(data["storage"]), int(data.get("heartbeat_s",
                           HEARTBEAT_S)), int(data.get("grace_s", GRACE_S)))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{path / STUDY_FILE} is damaged (it needs name and storage)") from None


def default_storage(folder: Path) -> str:
    return f"sqlite:///{(folder / DB_FILE).resolve()}"


def open_storage(url: str, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S):
    """Optuna's RDB storage at `url`, with heartbeats and the retry of stale trials; one line when it cannot be
    reached or read (a wrong URL, no server, no driver, a file that is not a database)."""
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The heartbeat and the retry of stale trials are "experimental" in Optuna 5 (since 2.8): pinned, and tested here
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat_s, grace_period=grace_s,
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES))
    except ModuleNotFoundError as e:
        raise ConfigError(f"--storage {shown(url)}: the database driver {e.name} is not installed (pip install "
                          f"{'psycopg[binary]' if 'psycopg' in (e.name or '') else e.name})") from None
    except Exception as e:  # sqlalchemy's errors: no server, refused, not a database, a malformed URL
        reason = (str(getattr(e, "orig", None) or e).splitlines() or [type(e).__name__])[0][:200]
        raise ConfigError(f"--storage {shown(url)}: cannot open it ({reason})") from None


def shown(url: str) -> str:
    """A storage URL as it may be printed: without its password."""
    import re

    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


@dataclass
class OpenStudy:
    """A study opened from its folder: the Optuna study, its storage, its spec."""

    folder: StudyFolder
    study: Any  # optuna.Study
    storage: Any  # optuna.storages.RDBStorage
    spec: StudySpec

    def trial_id(self, number: int) -> int:
        """The storage's id of trial `number`."""
        study_id = self.storage.get_study_id_from_name(self.folder.name)
        return self.storage.get_trial_id_from_study_id_trial_number(study_id, number)

    def updates(self, setting: str) -> int:
        """The updates each trial of `setting` trains (the budget, calibrated once where it is in seconds)."""
        if self.spec.budget.updates is not None:
            return self.spec.budget.updates
        calibrated = self.study.user_attrs.get(UPDATES_ATTR, {}).get(setting)
        if calibrated is None:
            raise ConfigError(f"study {self.folder.name}: setting {setting} has no calibrated budget")
        return int(calibrated["updates"])


def load_study(folder: StudyFolder, sampler=None) -> OpenStudy:
    """The study of `folder`, opened (with `sampler` for the settings a tpe study draws while it runs)."""
    import optuna

    storage = open_storage(folder.storage, folder.heartbeat_s, folder.grace_s)
    try:
        study = optuna.load_study(study_name=folder.name, storage=storage, sampler=sampler)
    except KeyError:
        raise ConfigError(f"the storage {shown(folder.storage)} holds no study named {folder.name}") from None
    record = study.user_attrs.get(SPEC_ATTR)
    if not isinstance(record, dict):
        raise ConfigError(f"study {folder.name} in {shown(folder.storage)} was not made by advnets study create")
    spec = from_record(record)
    for key, overrides in study.user_attrs.items():  # the settings a tpe study drew while it ran
        if key.startswith(SETTING_ATTR):
            spec.settings[key[len(SETTING_ATTR):]] = tuple(overrides)
    return OpenStudy(folder, study, storage, spec)


def units(study) -> list[Any]:
    """Every trial of the study that is a unit of work (setting, seed), in the order they were made."""
    return [t for t in study.get_trials(deepcopy=False) if "setting" in t.user_attrs and "seed" in t.user_attrs]


def enqueue(study, setting: str, seed: int) -> None:
    study.enqueue_trial({}, user_attrs={"setting": setting, "seed": seed})


def claim(opened: OpenStudy, setting: str | None = None):
    """A queued unit of work (of `setting`, when given), taken by this worker (moved WAITING -> RUNNING, which one
    worker only can do: the storage's change of state, as Optuna's ask() takes a queued trial), as (optuna Trial,
    its id in the storage); None when nothing waits."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    with sqlite_claims(opened):
        for frozen in opened.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            if setting is not None and frozen.user_attrs.get("setting") != setting:
                continue
            trial_id = opened.trial_id(frozen.number)
            try:
                if opened.storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    return optuna.trial.Trial(opened.study, trial_id), trial_id
            except UpdateFinishedTrialError:
                continue
    return None


@contextlib.contextmanager
def sqlite_claims(opened: OpenStudy) -> Iterator[None]:
    """One claim at a time on an SQLite storage. PostgreSQL makes the change WAITING -> RUNNING atomic (Optuna reads
    the trial FOR UPDATE); SQLite does not (its driver reads outside the writing transaction), so two workers could
    both take the same trial: on SQLite, whose workers share one machine, claims take turns on an flock of a file
    beside the database. Other storages: nothing to do."""
    import fcntl

    from sqlalchemy.engine import make_url

    url = make_url(opened.folder.storage)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    with open(f"{url.database}.claims", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def heartbeat(opened: OpenStudy, trial_id: int) -> Iterator[None]:
    """Beat for a trial every heartbeat interval while the block runs (in a thread), so that other workers know
    its worker is alive; a worker that dies stops beating, and its trial becomes stale."""
    interval = opened.folder.heartbeat_s
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed beat (a busy database) is made at the next one
                opened.storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
