"""Physics simulator of quantum-dot films and of the microscope that images them.

One call makes a synthetic measurement with its truth::

    from tamkit.sim.film import film_preset
    from tamkit.sim import simulate_measurement

    m = simulate_measurement(film_preset("cqd"), nabs=0.045, seed=0)
    m.raw      # camera counts (spot, run, chopper, delay, y, x), as `tamkit analyze` reads
    m.truth    # true MSD(t), D(t), survival, energies, band-like metrics, Auger artefact

The pieces: :mod:`.bandlike` (stage 1), :mod:`.hopping` (stages 2-3), :mod:`.spot` (composing the
pump spot from a few local densities), :mod:`.microscope` (PSF, pixels, IRF, EMCCD, chopping),
:mod:`.scenario` and :mod:`.truth`.
"""

from tamkit.models.depletion_laws import auger_depletion_msd_nm2
from tamkit.sim.bandlike import simulate_band_like
from tamkit.sim.hopping import simulate_hopping
from tamkit.sim.microscope import Microscope, chopped_acquisition, emccd_electrons
from tamkit.sim.scenario import Measurement, simulate_measurement

__all__ = [
    "Measurement",
    "Microscope",
    "auger_depletion_msd_nm2",
    "chopped_acquisition",
    "emccd_electrons",
    "simulate_band_like",
    "simulate_hopping",
    "simulate_measurement",
]
