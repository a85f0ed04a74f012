"""Compiled rejection-free kinetic Monte Carlo of carriers hopping between quantum dots.

One realisation: carriers on a periodic lattice of dots (any neighbour table), each dot holding
up to ``capacity`` carriers. Every carrier carries its own total event rate (hops to its neighbours,
one cooling step when hot, and its share of the Auger rate of its dot) in a binary sum tree, so an
event is drawn in O(log n_carriers) time: the BKL / Gillespie direct method without rejections
[1]_, [2]_.

Events
------
- **Hop** i -> j of a cold carrier at the precomputed thermal rate ``rate_thermal[i, k]``
  (Miller-Abrahams or Marcus, see :mod:`tamkit.sim.landscape`); of a hot carrier at
  ``hot_rate * exp(-max(0, eps_j - eps_i - E_h) / kT)`` with ``E_h`` its excess energy, so hot
  carriers hop faster and over barriers that their excess energy pays for. A full dot blocks hops
  into it.
- **Cooling step** of a hot carrier at ``cool_rate`` (per step): its excess energy falls by
  ``e_excess / n_cool_steps``; after ``n_cool_steps`` steps it is cold.
- **Auger** on a dot holding n >= 2 at total rate ``n^2 (n - 1) auger_coef`` with
  ``auger_coef = 1 / (4 tau_XX)`` (PHYSICS.md stage 2). The rate is split evenly over the n
  carriers; the one whose share fires recombines and a uniformly chosen other carrier on the dot
  takes up the band-gap energy as excess (becomes hot at the top cooling level). The full rate
  applies to a pump-made multiexciton (every carrier on the dot excited there and never moved);
  a group that any carrier joined by hopping or flight (an encounter) has it times
  ``meet_factor``.
- **Flight** of the heated survivor (when ``flight_d > 0``): with ~1.37 eV of excess it is in
  the delocalised higher states and moves band-like until it cools back into the 1S level. It
  leaves its dot at the Auger event, its expected spread 2 D_hot (t - t_Auger) enters the MSD
  while it flies, and it lands after an Erlang time (``flight_stages`` exponential stages)
  displaced by a Gaussian of per-axis variance 2 D_hot t_flight, then cools stepwise as above.

Randomness comes from a ``numpy.random.Generator`` passed in (numba draws from its bit generator),
so a given seed gives the same trajectory bit for bit on every run, compiled or interpreted.

References
----------
.. [1] A. B. Bortz, M. H. Kalos, J. L. Lebowitz, J. Comput. Phys. 17, 10 (1975).
.. [2] D. T. Gillespie, J. Comput. Phys. 22, 403 (1976).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Number of per-sample accumulators returned by :func:`run_kmc` (see its docstring).
N_OBSERVABLES = 6


@njit(cache=True, inline="always", error_model="numpy")
def _tree_update(tree, n_leaves, leaf, value):
    """Set a leaf of the binary sum tree and refresh its ancestors (exact sums, no drift).

    Each parent is recomputed as left + right exactly as before (IEEE addition is commutative,
    so carrying the new child in a register gives the very same bits); a leaf set to the value
    it already holds changes no sum and is skipped.
    """
    pos = n_leaves + leaf
    if tree[pos] == value:
        return
    tree[pos] = value
    while pos > 1:
        value = value + tree[pos ^ 1]
        pos >>= 1
        tree[pos] = value


@njit(cache=True, inline="always", error_model="numpy")
def _tree_select(tree, n_leaves, u):
    """Leaf whose cumulative-rate interval holds ``u`` (0 <= u < tree[1]); never a zero leaf.

    Also returns ``u`` less the leaf's start: uniform over the leaf's own rate, so it can choose
    the event within the leaf without drawing another random number.
    """
    pos = 1
    while pos < n_leaves:
        left = tree[2 * pos]
        right = tree[2 * pos + 1]
        # The direction is a coin toss no branch predictor can learn: a compare and a select,
        # no branch. Only beside an empty child (zero rate: dead carriers, the padding leaves)
        # does rounding matter: u may lie just past the last interval, and the descent must
        # never enter an empty branch (a rare, well-predicted branch).
        go_right = not u < left  # (a Python bool when interpreted: keeps pos a Python int)
        if left <= 0.0 or right <= 0.0:
            go_right = not ((u < left and left > 0.0) or right <= 0.0)
        u = u - left if go_right else u
        pos = 2 * pos + go_right
    return pos - n_leaves, u


@njit(cache=True, inline="always", error_model="numpy")
def _hot_hop_rate(eps, i, j, hot_rate, excess, kT):
    """Hop rate of a hot carrier: barrier reduced by its excess energy (meV)."""
    barrier = eps[j] - eps[i] - excess
    if barrier > 0.0:
        return hot_rate * math.exp(-barrier / kT)
    return hot_rate


@njit(cache=True, inline="always", error_model="numpy")
def _carrier_rate(c, site, hot, occ, nbr, eps, rate_thermal, capacity, hot_rate, kT,
                  excess_step, cool_rate, auger_coef, auger_on, chan, auger_scale):
    """Total event rate (1/fs) of carrier ``c``: hops + cooling + its share of Auger.

    Also stores each channel's rate in ``chan[c]`` (neighbour slots, then cooling, then Auger),
    from which the event's channel is drawn; the total is their sum in that order.
    """
    i = site[c]
    h = hot[c]
    n_nb = nbr.shape[1]
    total = 0.0
    for k in range(n_nb):
        j = nbr[i, k]
        if occ[j] >= capacity:
            r = 0.0
        elif h > 0:
            r = _hot_hop_rate(eps, i, j, hot_rate, h * excess_step, kT)
        else:
            r = rate_thermal[i, k]
        chan[c, k] = r
        total += r
    r = cool_rate if h > 0 else 0.0
    chan[c, n_nb] = r
    total += r
    n = occ[i]
    r = auger_scale * auger_coef * n * (n - 1) if (auger_on and n >= 2) else 0.0
    chan[c, n_nb + 1] = r
    total += r
    return total


@njit(cache=True, inline="always", error_model="numpy")
def _auger_scale(i, head, nxt, origin, meet_factor):
    """Auger rate factor of dot ``i``: 1 for a pump-made multiexciton, ``meet_factor`` otherwise.

    Pump-made: every carrier on the dot was excited on it and has never left it (``origin`` is
    the dot a carrier was excited on, -1 once it has moved). Any carrier that arrived by
    hopping or flight makes the group an encounter (see :func:`run_kmc`).
    """
    if meet_factor == 1.0:
        return 1.0
    c = head[i]
    while c >= 0:
        if origin[c] != i:
            return meet_factor
        c = nxt[c]
    return 1.0


@njit(cache=True, inline="always", error_model="numpy")
def _refresh_site(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps, rate_thermal,
                  capacity, hot_rate, kT, excess_step, cool_rate, auger_coef, auger_on, chan,
                  origin, meet_factor):
    """Recompute the rates of every carrier on dot ``i``."""
    scale = _auger_scale(i, head, nxt, origin, meet_factor)
    c = head[i]
    while c >= 0:
        r = _carrier_rate(c, site, hot, occ, nbr, eps, rate_thermal, capacity, hot_rate, kT,
                          excess_step, cool_rate, auger_coef, auger_on, chan, scale)
        _tree_update(tree, n_leaves, c, r)
        c = nxt[c]


@njit(cache=True, inline="always", error_model="numpy")
def _refresh_neighbourhood(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                           rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                           auger_coef, auger_on, chan, origin, meet_factor):
    """Recompute the carriers next to dot ``i`` (its filling or emptying changed their hops)."""
    for k in range(nbr.shape[1]):
        _refresh_site(nbr[i, k], head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                      rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                      auger_coef, auger_on, chan, origin, meet_factor)


@njit(cache=True, inline="always", error_model="numpy")
def _remove_from_site(i, c, head, nxt, occ):
    """Unlink carrier ``c`` from dot ``i``'s list (singly linked: ``head[i]``, ``nxt[c]``)."""
    if head[i] == c:
        head[i] = nxt[c]
    else:
        p = head[i]
        while nxt[p] != c:
            p = nxt[p]
        nxt[p] = nxt[c]
    nxt[c] = -1
    occ[i] -= 1


@njit(cache=True, inline="always", error_model="numpy")
def _add_to_site(i, c, head, nxt, occ):
    nxt[c] = head[i]
    head[i] = c
    occ[i] += 1


@njit(cache=True, inline="always", error_model="numpy")
def _record(k, obs, alive, disp, site, hot, eps, n_carriers, t, flight_t0, flight_d):
    """Accumulate the observables of sample ``k`` (time ``t``) over the carriers alive now.

    A carrier in flight adds its flight's expected per-axis square displacement,
    2 D_hot (t - t_takeoff): exact for the mean, as the flight is a free Gaussian spread.
    """
    for c in range(n_carriers):
        if not alive[c]:
            continue
        dx = disp[c, 0]
        dy = disp[c, 1]
        dz = disp[c, 2]
        per_axis = (dx * dx + dy * dy + dz * dz) / 3.0
        if flight_t0[c] >= 0.0:
            per_axis += 2.0 * flight_d * (t - flight_t0[c])
        obs[k, 0] += 1.0
        obs[k, 1] += per_axis
        obs[k, 2] += per_axis * per_axis
        obs[k, 3] += eps[site[c]]
        if hot[c] > 0:
            obs[k, 4] += 1.0
        obs[k, 5] += eps[site[c]] * eps[site[c]]


@njit(cache=True, inline="always", error_model="numpy")
def _flight_target(i, variance, nbr, plus, minus, jump, rng):
    """Dot where a band-like flight from dot ``i`` ends; ``jump`` gets its steps per axis.

    Per-axis displacement Gaussian of ``variance`` (pitch^2), rounded to whole pitches; the
    walk along the neighbour table wraps the periodic box, the displacement stays unwrapped.
    """
    scale = math.sqrt(variance)
    j = i
    for a in range(3):
        n = int(round(scale * rng.standard_normal()))
        jump[a] = n
        slot = plus[a] if n > 0 else minus[a]
        for _ in range(abs(n)):
            j = nbr[j, slot]
    return j


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _event_loop(nbr, steps, eps, rate_thermal, sample_t, capacity, hot_rate, kT, n_cool_steps,
                cool_rate, auger_coef, auger_on, hot_on, rng, meet_factor, flight_d,
                flight_stages, stage_rate, excess_step, n_leaves, tree, chan, site, hot, alive,
                disp, t_arrival, origin, occ, head, nxt, flight_t0, flight_stage, plus, minus,
                jump, obs, counts, residence):
    """The event loop of :func:`run_kmc`, on arrays it allocated; fills obs, counts, residence.

    Compiled without numba's reference counting (``_nrt=False``): it allocates nothing, and
    with reference counting every inlined helper's array arguments cost atomic increments and
    decrements, which took most of the run time.
    """
    n_samples = sample_t.shape[0]
    n_carriers = site.shape[0]
    t = 0.0
    k = 0
    t_end = sample_t[n_samples - 1] if n_samples > 0 else 0.0
    while k < n_samples:
        total = tree[1]
        if total > 0.0:
            t_next = t - math.log(1.0 - rng.random()) / total
        else:
            t_next = math.inf
        while k < n_samples and sample_t[k] < t_next:
            _record(k, obs, alive, disp, site, hot, eps, n_carriers, sample_t[k], flight_t0,
                    flight_d)
            k += 1
        if k >= n_samples:
            break
        t = t_next
        c, u = _tree_select(tree, n_leaves, rng.random() * total)
        i = site[c]
        h = hot[c]
        # Choose the channel of carrier c from the rates _carrier_rate stored.
        n_nb = nbr.shape[1]
        chosen = -1
        last_nonzero = -1
        if flight_t0[c] >= 0.0:
            chosen = n_nb + 2  # a carrier in flight has one channel: the next flight stage
        else:
            for slot in range(n_nb + 2):
                r = chan[c, slot]
                if r > 0.0:
                    last_nonzero = slot
                    if u < r:
                        chosen = slot
                        break
                    u -= r
            if chosen < 0:
                chosen = last_nonzero  # rounding at the very end of the interval

        if chosen < n_nb:
            j = nbr[i, chosen]
            residence[i] += t - t_arrival[c]
            t_arrival[c] = t
            was_full_i = occ[i] >= capacity
            _remove_from_site(i, c, head, nxt, occ)
            _add_to_site(j, c, head, nxt, occ)
            site[c] = j
            origin[c] = -1
            for a in range(3):
                disp[c, a] += steps[chosen, a]
            counts[0] += 1
            _refresh_site(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                          rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                          auger_coef, auger_on, chan, origin, meet_factor)
            _refresh_site(j, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                          rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                          auger_coef, auger_on, chan, origin, meet_factor)
            if was_full_i:
                _refresh_neighbourhood(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                                       rate_thermal, capacity, hot_rate, kT, excess_step,
                                       cool_rate, auger_coef, auger_on, chan, origin, meet_factor)
            if occ[j] >= capacity:
                _refresh_neighbourhood(j, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                                       rate_thermal, capacity, hot_rate, kT, excess_step,
                                       cool_rate, auger_coef, auger_on, chan, origin, meet_factor)
        elif chosen == n_nb + 2 and flight_stage[c] + 1 < flight_stages:
            flight_stage[c] += 1  # one more stage of the flight; its rate is unchanged
        elif chosen == n_nb + 2:
            j = _flight_target(i, 2.0 * flight_d * (t - flight_t0[c]), nbr, plus, minus, jump,
                               rng)
            if occ[j] >= capacity and occ[i] < capacity:
                j = i
                for a in range(3):
                    jump[a] = 0
            flight_t0[c] = -1.0
            origin[c] = -1
            t_arrival[c] = t
            _add_to_site(j, c, head, nxt, occ)
            site[c] = j
            for a in range(3):
                disp[c, a] += jump[a]
            _refresh_site(j, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                          rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                          auger_coef, auger_on, chan, origin, meet_factor)
            if occ[j] >= capacity:
                _refresh_neighbourhood(j, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                                       rate_thermal, capacity, hot_rate, kT, excess_step,
                                       cool_rate, auger_coef, auger_on, chan, origin, meet_factor)
        elif chosen == n_nb:
            hot[c] = h - 1
            counts[2] += 1
            _refresh_site(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                          rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                          auger_coef, auger_on, chan, origin, meet_factor)
        else:
            residence[i] += t - t_arrival[c]
            was_full_i = occ[i] >= capacity
            _remove_from_site(i, c, head, nxt, occ)
            alive[c] = False
            _tree_update(tree, n_leaves, c, 0.0)
            counts[1] += 1
            if hot_on and occ[i] > 0:
                survivor = head[i]
                for _ in range(int(rng.random() * occ[i])):
                    survivor = nxt[survivor]
                hot[survivor] = n_cool_steps
                if flight_d > 0.0:
                    # take-off: the survivor leaves the dot and only its landing can happen
                    residence[i] += t - t_arrival[survivor]
                    _remove_from_site(i, survivor, head, nxt, occ)
                    flight_t0[survivor] = t
                    flight_stage[survivor] = 0
                    for slot in range(n_nb + 2):
                        chan[survivor, slot] = 0.0
                    _tree_update(tree, n_leaves, survivor, stage_rate)
            _refresh_site(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                          rate_thermal, capacity, hot_rate, kT, excess_step, cool_rate,
                          auger_coef, auger_on, chan, origin, meet_factor)
            if was_full_i:
                _refresh_neighbourhood(i, head, nxt, occ, tree, n_leaves, site, hot, nbr, eps,
                                       rate_thermal, capacity, hot_rate, kT, excess_step,
                                       cool_rate, auger_coef, auger_on, chan, origin, meet_factor)

    for c in range(n_carriers):
        if alive[c] and flight_t0[c] < 0.0:
            residence[site[c]] += t_end - t_arrival[c]


@njit(cache=True, nogil=True, error_model="numpy")
def run_kmc(nbr, steps, eps, rate_thermal, occ0, sample_t, capacity, hot_rate, kT, e_excess,
            n_cool_steps, cool_rate, auger_coef, auger_on, hot_on, rng, meet_factor=1.0,
            flight_d=0.0, land_rate=1.0, flight_stages=1):
    """Run one realisation of the hopping / Auger / cooling kinetic Monte Carlo.

    Parameters
    ----------
    nbr : int32[n_sites, n_nb]
        Neighbour table of the periodic lattice.
    steps : int64[n_nb, 3]
        Lattice displacement (in pitches) of a hop along each neighbour slot.
    eps : float64[n_sites]
        Site energies (meV).
    rate_thermal : float64[n_sites, n_nb]
        Rate (1/fs) of a cold carrier's hop along each neighbour slot.
    occ0 : int64[n_sites]
        Initial number of carriers on each dot (each <= capacity).
    sample_t : float64[n_samples]
        Non-decreasing sample times (fs), >= 0.
    capacity : int
        Carriers a dot can hold (8 for PbS: 4 L valleys x 2 spins).
    hot_rate : float
        Hop rate (1/fs, per neighbour) of a hot carrier over no barrier.
    kT : float
        Thermal energy (meV), > 0.
    e_excess : float
        Excess energy (meV) an Auger survivor receives.
    n_cool_steps : int
        Number of equal cooling steps from ``e_excess`` to zero.
    cool_rate : float
        Rate (1/fs) of one cooling step.
    auger_coef : float
        1 / (4 tau_XX) (1/fs).
    auger_on, hot_on : bool
        Switch Auger events, and heating of the Auger survivor, on or off.
    rng : numpy.random.Generator
        Source of randomness; its state advances.
    meet_factor : float
        Auger rate factor of a dot whose carriers were not all excited on one dot (carriers
        that met by hopping), relative to a geminate multiexciton. 1 treats both alike.
    flight_d : float
        Per-axis diffusivity (pitch^2/fs) of a heated Auger survivor in the delocalised higher
        states; 0 switches flights off. The survivor leaves its dot at the Auger event (it
        neither blocks nor meets anyone in flight) and lands at rate ``land_rate`` (cooling
        back into the 1S level is a rate process), displaced by a Gaussian of per-axis
        variance 2 flight_d t_flight rounded to the lattice; it lands hot and goes on with the
        stepwise cooling. A landing on a full dot falls back to the take-off dot.
    land_rate : float
        1 / mean flight time (1/fs).
    flight_stages : int
        The flight ends after this many exponential stages, each at rate
        ``flight_stages * land_rate``: an Erlang flight time (cooling through many levels has
        a sharper duration than one exponential step).

    Returns
    -------
    obs : float64[n_samples, 6]
        Per sample: number of carriers alive, sum of per-axis squared displacement (pitch^2),
        sum of its square, sum of site energy (meV), number of hot carriers, sum of squared
        site energy.
    counts : int64[3]
        Hops, Auger events and cooling steps.
    residence_fs : float64[n_sites]
        Carrier-time spent on each dot (fs) up to the last sample time.
    """
    n_sites = eps.shape[0]
    n_samples = sample_t.shape[0]
    n_carriers = 0
    for i in range(n_sites):
        n_carriers += occ0[i]
    obs = np.zeros((n_samples, N_OBSERVABLES))
    counts = np.zeros(3, dtype=np.int64)
    residence = np.zeros(n_sites)

    site = np.empty(n_carriers, dtype=np.int32)
    hot = np.zeros(n_carriers, dtype=np.int32)
    alive = np.ones(n_carriers, dtype=np.bool_)
    disp = np.zeros((n_carriers, 3), dtype=np.int32)
    t_arrival = np.zeros(n_carriers)
    origin = np.empty(n_carriers, dtype=np.int32)
    # Small integer types keep the per-dot arrays in cache: the kernel is memory-bound.
    occ = np.zeros(n_sites, dtype=np.int32)
    # carriers on each dot as linked lists: far less memory than an n_sites x capacity table
    head = -np.ones(n_sites, dtype=np.int32)
    nxt = -np.ones(n_carriers, dtype=np.int32)
    c = 0
    for i in range(n_sites):
        for _ in range(occ0[i]):
            site[c] = i
            origin[c] = i
            _add_to_site(i, c, head, nxt, occ)
            c += 1

    n_leaves = 1
    while n_leaves < max(n_carriers, 1):
        n_leaves *= 2
    tree = np.zeros(2 * n_leaves)
    # channels: hops to each neighbour, cooling step, Auger share (a row of 8 doubles is one
    # cache line on the cubic lattice; a carrier in flight has only its flight stage, kept out)
    chan = np.zeros((n_carriers, nbr.shape[1] + 2))
    flight_t0 = -np.ones(n_carriers)
    flight_stage = np.zeros(n_carriers, dtype=np.int32)
    stage_rate = land_rate * flight_stages
    excess_step = e_excess / max(n_cool_steps, 1)
    for c in range(n_carriers):
        r = _carrier_rate(c, site, hot, occ, nbr, eps, rate_thermal, capacity, hot_rate, kT,
                          excess_step, cool_rate, auger_coef, auger_on, chan, 1.0)
        _tree_update(tree, n_leaves, c, r)
    # lattice slots of a unit step along +axis and -axis, for the flights
    plus = np.zeros(3, dtype=np.int64)
    minus = np.zeros(3, dtype=np.int64)
    for slot in range(steps.shape[0]):
        for a in range(3):
            if steps[slot, a] == 1 and steps[slot, (a + 1) % 3] == 0 \
                    and steps[slot, (a + 2) % 3] == 0:
                plus[a] = slot
            if steps[slot, a] == -1 and steps[slot, (a + 1) % 3] == 0 \
                    and steps[slot, (a + 2) % 3] == 0:
                minus[a] = slot
    jump = np.zeros(3, dtype=np.int64)

    _event_loop(nbr, steps, eps, rate_thermal, sample_t, capacity, hot_rate, kT, n_cool_steps,
                cool_rate, auger_coef, auger_on, hot_on, rng, meet_factor, flight_d,
                flight_stages, stage_rate, excess_step, n_leaves, tree, chan, site, hot,
                alive, disp, t_arrival, origin, occ, head, nxt, flight_t0, flight_stage,
                plus, minus, jump, obs, counts, residence)
    return obs, counts, residence
