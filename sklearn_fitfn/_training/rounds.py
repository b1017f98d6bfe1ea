"""A search's round of members (candidates × folds), trained as they come, in
bounded batches.

A search hands its members over one at a time, as it prepares each one's
rows. Each member is keyed by its :func:`.stacked.fingerprint`: members with
the same one (candidates that name one setting two ways) train once, and each
takes its own copy of the result, so that they tie as they would alone.
Members that can share a program wait in their group; a group trains as soon
as its chunk is full (:data:`.stacked.MAX_GROUP_ELEMENTS`), and the rows
waiting in all groups together never exceed :data:`MAX_HELD_ELEMENTS`: past
it, the largest group trains now, or, when it is too small to gain, the
smallest gives up and its members train in their own fits. So a search of
any size holds a bounded number of members' rows at once. What is trained
waits for each member's own fit (:func:`.stacked.take`).

Every member that does not train here is counted with the reason, for the
search's ``verbose`` lines.
"""

import collections
import copy

import joblib

from . import stacked

#: Elements of training data (X, y and weights of the members waiting in
#: their groups) a round holds at most: two full chunks, 256 MB in float64.
MAX_HELD_ELEMENTS = 2 * stacked.MAX_GROUP_ELEMENTS


class TrainingRound:
    """The members of one round of a search, trained together where they can.

    Parameters
    ----------
    backend : joblib backend, optional
        Where to send the training, a task per chunk of a group and one per
        member that trains alone without Keras's fit (as its own fit would);
        None trains the groups here and leaves the others to their own fits.
    n_jobs : int, optional
        joblib's ``n_jobs``: tasks at once on ``backend``, or groups trained
        side by side in threads here.
    report : callable, optional
        Called as ``report(specs, seconds)`` after each group, with its
        members' network specs.

    Attributes
    ----------
    keys : list of str
        The fingerprints kept for later fits, one per outcome kept.
    seconds : list of float
        Each member's share of the training's seconds, in order of
        :meth:`add` (0 for those that train in their own fit).
    alone : collections.Counter
        Members that train in their own fit, by reason.
    """

    def __init__(self, *, backend=None, n_jobs=None, report=None):
        self.backend, self.n_jobs, self.report = backend, n_jobs, report
        self.keys, self.seconds, self.alone = [], [], collections.Counter()
        self._first = {}  # fingerprint -> position of the member that trains
        self._copies = collections.defaultdict(list)  # first's position -> copies' positions
        self._outcomes = {}  # first's position -> its outcome, once trained
        self._reasons = {}  # first's position -> why it trains one at a time
        self._waiting = collections.defaultdict(list)  # group key -> [(position, member, key)]
        self._singles = []  # [(position, member, key)]: sent alone to the backend
        self._held = 0

    def add(self, member, reason=None):
        """Take the next member; None (with the ``reason``) trains in its own fit."""
        position = len(self.seconds)
        self.seconds.append(0.0)
        if member is None:
            self.alone[reason] += 1
            return
        key = stacked.fingerprint(member)
        if key in self._first:
            self._add_copy(self._first[key], position, key)
            return
        self._first[key] = position
        reason = stacked.why_alone(member)
        if reason is not None:
            self._alone(position, member, key, reason)
            return
        group = self._waiting[stacked.group_key(member)]
        group.append((position, member, key))
        self._hold(member)
        if stacked.chunk_is_full([m for _, m, _ in group]):
            self._train([self._take_group(stacked.group_key(member))])

    def finish(self):
        """Train what still waits; the groups too small to gain train alone."""
        tasks = []
        for group_key in list(self._waiting):
            needed = self._needed(group_key)
            if len(self._waiting[group_key]) >= needed:
                tasks.append(self._take_group(group_key))
            else:
                self._release(group_key, f"fewer than {needed} of their shape")
        self._train(tasks)

    def _add_copy(self, first, position, key):
        """A member whose fingerprint is ``first``'s: it takes what ``first``
        takes (and counts as ``first`` counts)."""
        if first in self._reasons:
            self.alone[self._reasons[first]] += 1
        if first in self._outcomes:
            self._keep_copy(first, position, key)
        else:
            self._copies[first].append((position, key))

    def _alone(self, position, member, key, reason):
        """Count a member that trains one at a time: on the backend, where
        there is one and it does not train with Keras's fit, else in its fit."""
        self._reasons[position] = reason
        self.alone[reason] += 1 + len(self._copies.get(position, []))
        if self.backend is not None and member.settings.keras is None:
            self._singles.append((position, member, key))
            self._held += stacked.elements(member)
        else:
            self._copies.pop(position, None)

    def _hold(self, member):
        self._held += stacked.elements(member)
        while self._held > MAX_HELD_ELEMENTS and (self._waiting or self._singles):
            if self._singles:
                self._train([])
                continue
            largest = max(self._waiting, key=lambda k: len(self._waiting[k]))
            if len(self._waiting[largest]) >= self._needed(largest):
                self._train([self._take_group(largest)])
            else:
                smallest = min(self._waiting, key=lambda k: len(self._waiting[k]))
                self._release(smallest, "too few of their shape among the rows held at once")

    def _needed(self, group_key):
        return stacked.min_members(self._waiting[group_key][0][1])

    def _take_group(self, group_key):
        group = self._waiting.pop(group_key)
        self._held -= sum(stacked.elements(m) for _, m, _ in group)
        return group

    def _release(self, group_key, reason):
        """Give up a group: each member trains one at a time."""
        for position, member, key in self._take_group(group_key):
            self._alone(position, member, key, reason)

    def _train(self, tasks):
        """Train ``tasks`` (lists of (position, member, key)) and the singles
        waiting for the backend; keep each outcome for its member's fit."""
        if self.backend is not None:
            tasks += [[single] for single in self._singles]
            self._held -= sum(stacked.elements(m) for _, m, _ in self._singles)
            self._singles = []
        if not tasks:
            return
        work = [[member for _, member, _ in task] for task in tasks]
        if self.backend is None and (len(work) == 1 or self.n_jobs in (None, 1)):
            results = map(stacked.train_task, work)  # lazy: each group reported as it ends
        elif self.backend is None:
            # Groups side by side in threads, n_jobs at a time: each group's
            # products and passes release the GIL, and run on one BLAS thread.
            results = joblib.Parallel(n_jobs=self.n_jobs, backend="threading")(
                joblib.delayed(stacked.train_task)(members) for members in work
            )
        else:
            with joblib.parallel_config(backend=self.backend):
                results = joblib.Parallel(n_jobs=self.n_jobs)(
                    joblib.delayed(stacked.train_task)(members) for members in work
                )
        for task, (outcomes, seconds) in zip(tasks, results):
            for (position, _, key), outcome in zip(task, outcomes):
                if isinstance(outcome, stacked.TrainedTogether):
                    outcome = outcome._replace(seconds=seconds / len(task))
                self._keep(position, key, outcome)
            if self.report is not None and len(task) > 1:
                self.report([member.spec for _, member, _ in task], seconds)

    def _keep(self, position, key, outcome):
        """Keep a first member's outcome, and a copy for each of its copies."""
        self._outcomes[position] = outcome
        self.seconds[position] = getattr(outcome, "seconds", 0.0)
        self.keys += stacked.keep_for_later([key], [outcome])
        for copy_position, copy_key in self._copies.pop(position, []):
            self._keep_copy(position, copy_position, copy_key)

    def _keep_copy(self, first, position, key):
        outcome = self._outcomes[first]
        self.seconds[position] = self.seconds[first]
        self.keys += stacked.keep_for_later([key], [copy.deepcopy(outcome)])
