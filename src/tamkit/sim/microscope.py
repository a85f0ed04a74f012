"""The TAM microscope: from a carrier profile to raw camera frames.

The instrument of the paper (Methods and Fig. 1): an oil objective of NA 1.1 focuses the 580 nm
pump to a diffraction-limited spot that creates the carriers; a wide-field probe (sigma 6.4 um,
690 nm) is imaged onto an EMCCD at 288x, so a 16 um pixel is 55.6 nm at the sample; pump and
probe cross-correlate to a 13 fs instrument response; the pump is chopped at 30 Hz and
dT/T = (T_on - T_off) / T_off.

The image chain, in order:

1. carrier density n(x, y, t) in excitations per dot (composed over the spot, :mod:`.spot`);
2. detection blur: a Gaussian of sigma ``detection_sigma_nm`` (see below);
3. pixel integration over the 55.6 nm pixel, sampled at pixel centres;
4. the instrument response: a Gaussian average over delay, with no carriers before t = 0;
5. dT/T = ``dT_T_per_excitation`` x image (negative: the probe sits on the PIA band);
6. camera: T_off = probe photons, T_on = T_off (1 + dT/T), each with shot noise, EMCCD
   multiplication (excess noise factor sqrt 2) and read noise; ``n_runs`` runs on ``n_spots``
   spots.

Spot sizes. The paper gives the pump as "sigma of 133 nm" (Fig. 1 caption) and as "263 nm FWHM,
111 nm width" (Methods), which disagree by 19 %. The Gaussian approximation of a diffraction-
limited spot, sigma = 0.21 lambda / NA (Zhang, Zerubia & Olivo-Marin, Appl. Opt. 46, 1819
(2007)), resolves this: at NA 1.1 it is 110.7 nm (FWHM 260.8 nm) at the 580 nm pump, the Methods'
values, and 131.7 nm at the 690 nm probe, the "diffraction limit of the microscope (133 nm)" of
the text (l. 167). tamkit therefore starts the carriers with the pump's 110.7 nm.

How the detection PSF is treated. The paper's sigma_0 = 141 +- 10 nm is what its Gaussian fits
*measure* at t = 0. tamkit attributes the difference from the pump's 110.7 nm to the imaging: a
Gaussian detection blur whose variance, together with the pixel's a^2 / 12 (see
:func:`tamkit.models.imaging.pixel_integrated_variance_nm2`), brings the measured sigma_0 to
141 nm. Its sigma
(``detection_sigma_nm``, 86 nm by default) is therefore a *fit* parameter with that target (a
full incoherent 690 nm PSF would give 172 nm, more than the paper measures). A constant Gaussian
blur adds the same variance to every frame, so it cancels in MSD = sigma_t^2 - sigma_0^2; set
``apparent_sigma0_nm`` equal to ``sqrt(pump_sigma_nm^2 + pixel_nm^2 / 12)`` for no blur at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from tamkit.core.acquisition import PAPER_PIXEL_NM
from tamkit.core.errors import InputError
from tamkit.core.stack import pixel_axis_nm
from tamkit.models.excitation import local_nabs
from tamkit.models.imaging import (  # noqa: F401  (re-exported: the paper's optics)
    AIRY_SIGMA_PER_LAMBDA_NA,
    FWHM_PER_SIGMA,
    PAPER_NA,
    PAPER_PUMP_SIGMA_NM,
    PROBE_NM,
    PUMP_NM,
    blur_variance_nm2,
    diffraction_limited_sigma_nm,
    pixel_integrated_variance_nm2,
)
from tamkit.sim.spot import hat_weights


@dataclass(frozen=True)
class Microscope:
    """The TAM instrument, with the paper's values as defaults.

    Attributes
    ----------
    pump_sigma_nm : float
        Pump spot sigma (nm), which the initial carrier distribution follows: the diffraction
        limit 0.21 x 580 nm / 1.1 = 110.7 nm (paper Methods: 263 nm FWHM, 111 nm), see the
        module notes.
    apparent_sigma0_nm : float
        sigma_0 that a Gaussian fit of the t = 0 image measures (nm): 141 nm (paper l. 166).
        Sets the detection blur, see the module notes.
    pixel_nm : float
        Pixel at the sample (nm): 16 um / 288 = 55.6 nm.
    n_pixels : int
        Frame side (pixels); 32 x 55.6 nm = 1.78 um = +-6.3 sigma_0.
    irf_fwhm_fs : float
        FWHM of the Gaussian instrument response (fs): 13 fs, the pump (9.2 fs) - probe (6.8 fs)
        cross-correlation (paper Methods). Read as a FWHM, the usual meaning of a pulse
        duration: sigma = 5.5 fs.
    probe_sigma_nm : float
        Probe spot sigma at the sample (nm): 6.4 um (Fig. 1 caption); flat to 1 % over a frame.
    probe_photons_per_pixel : float
        Probe photons reaching a pixel (at the probe centre) per camera exposure: 2e4, so that the
        EMCCD output (2e4 x QE x gain = 1.8e5 e-) stays well inside the gain register's range.
    exposures_per_frame : int
        Exposures summed into one frame of one run, half pump-on, half pump-off cycles of the
        30 Hz chopper each: 1400 (47 s per frame). *Fit*: with the signal below, a single run's
        frame at <N_abs> = 0.045 then localises the spot centre to 9.2 nm (Cramer-Rao bound at
        20 fs; the fitted centres of single runs scatter by 9.5 nm over the first 100 fs), the
        paper's "sub-10 nm" / "~10 nm spatial precision"; averaging runs and spots improves it
        as 1/sqrt(n).
    quantum_efficiency : float
        EMCCD quantum efficiency at 690 nm: 0.9 (back-illuminated sensor).
    em_gain : float
        Electron-multiplication gain: 10 (bright wide-field probe; the excess noise factor
        sqrt(2) applies at any gain >> 1).
    read_noise_e : float
        Read noise at the output amplifier (electrons rms per exposure): 50 e-.
    chopper_hz : float
        Pump chopping frequency (Hz): 30 Hz (paper Methods).
    dT_T_per_excitation : float
        dT/T per excitation per dot in the image: -0.072. Negative: the probe band (690 nm) is the
        photoinduced absorption. *Fit*: the paper gives no magnitude; -0.072 makes the peak
        |dT/T| ~ 2e-3 at <N_abs> = 0.045 (after the detection blur), typical of PbS films.
    """

    pump_sigma_nm: float = PAPER_PUMP_SIGMA_NM
    apparent_sigma0_nm: float = 141.0
    pixel_nm: float = PAPER_PIXEL_NM
    n_pixels: int = 32
    irf_fwhm_fs: float = 13.0
    probe_sigma_nm: float = 6400.0
    probe_photons_per_pixel: float = 2.0e4
    exposures_per_frame: int = 1400
    quantum_efficiency: float = 0.9
    em_gain: float = 10.0
    read_noise_e: float = 50.0
    chopper_hz: float = 30.0
    dT_T_per_excitation: float = -0.072

    def __post_init__(self) -> None:
        positive = ("pump_sigma_nm", "apparent_sigma0_nm", "pixel_nm", "irf_fwhm_fs",
                    "probe_sigma_nm", "probe_photons_per_pixel", "em_gain", "chopper_hz")
        for key in positive:
            value = getattr(self, key)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(f"microscope {key} must be a positive number, got {value!r}")
        if not 0 < self.quantum_efficiency <= 1:
            raise InputError(f"quantum_efficiency must be in (0, 1], got {self.quantum_efficiency}")
        if self.read_noise_e < 0:
            raise InputError(f"read_noise_e must be >= 0, got {self.read_noise_e}")
        if int(self.n_pixels) < 8 or int(self.exposures_per_frame) < 1:
            raise InputError("need at least 8 pixels per side and 1 exposure per frame")
        if self.detection_variance_nm2 < -1e-9:
            raise InputError(
                f"apparent_sigma0_nm = {self.apparent_sigma0_nm} nm is below what the pump "
                f"({self.pump_sigma_nm} nm) and the pixel alone give"
            )

    @property
    def detection_variance_nm2(self) -> float:
        """Variance of the detection blur (nm^2): apparent sigma_0^2 - pump^2 - pixel^2/12."""
        return blur_variance_nm2(self.apparent_sigma0_nm, self.pump_sigma_nm, self.pixel_nm)

    @property
    def detection_sigma_nm(self) -> float:
        """Sigma of the Gaussian detection blur (nm); 86 nm for the defaults."""
        return math.sqrt(max(self.detection_variance_nm2, 0.0))

    @property
    def irf_sigma_fs(self) -> float:
        """Sigma of the Gaussian instrument response (fs)."""
        return self.irf_fwhm_fs / FWHM_PER_SIGMA

    @property
    def frame_time_s(self) -> float:
        """Acquisition time of one on/off frame pair (s): exposures / chopper frequency."""
        return self.exposures_per_frame / self.chopper_hz

    def axis_nm(self) -> np.ndarray:
        """Pixel-centre positions (nm) of either axis, 0 at the frame centre."""
        return pixel_axis_nm(int(self.n_pixels), self.pixel_nm)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(detection_sigma_nm=self.detection_sigma_nm, irf_sigma_fs=self.irf_sigma_fs,
                   frame_time_s=self.frame_time_s)
        return out


# --- instrument response ------------------------------------------------------------------------


def irf_nodes(
    delay_fs: np.ndarray,
    irf_sigma_fs: float,
    n_nodes: int = 20,
    half_width_sigmas: float = 6.0,
    cutoff_sigmas: float = 30.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Times and weights that average a quantity over a Gaussian instrument response.

    The measured value at delay t is integral_0^inf g(t - tau) Q(tau) d tau, with g a normalised
    Gaussian of sigma ``irf_sigma_fs`` and no carriers before the pump (tau < 0). Gauss-Legendre
    quadrature with ``n_nodes`` nodes on [max(0, t - 6 sigma), t + 6 sigma] handles the onset at
    tau = 0 exactly (it is an end point) and is good to ~1e-8 for smooth Q; the weights include
    g, so they sum to the fraction of the response after time zero (1/2 at t = 0). Beyond
    ``cutoff_sigmas`` sigma after time zero the average of a smooth MSD differs from its value by
    ~ (sigma / t)^2 < 0.1 %, so those delays get one node at t (fewer renders).

    Returns
    -------
    times_fs : ndarray (n_delay, n_nodes)
    weights : ndarray (n_delay, n_nodes)
        Non-negative; unused nodes have weight 0 (and time t).
    """
    t = np.asarray(delay_fs, dtype=float)
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    lo = np.clip(t - half_width_sigmas * irf_sigma_fs, 0.0, None)
    hi = np.clip(t + half_width_sigmas * irf_sigma_fs, 0.0, None)
    mid, half = 0.5 * (hi + lo), 0.5 * (hi - lo)
    times = mid[:, None] + half[:, None] * x[None, :]
    gauss = np.exp(-0.5 * ((t[:, None] - times) / irf_sigma_fs) ** 2)
    weights = half[:, None] * w[None, :] * gauss / (np.sqrt(2 * np.pi) * irf_sigma_fs)
    late = t > cutoff_sigmas * irf_sigma_fs
    times[late] = t[late, None]
    weights[late] = 0.0
    weights[late, 0] = 1.0
    empty = half <= 0  # delays so early that the whole response precedes the pump
    times[empty] = t[empty, None]
    weights[empty] = 0.0
    return times, weights


# --- images -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotImager:
    """Precomputed Fourier pieces that turn per-level (MSD, survival) into a camera image.

    The source of level pair (k, l) is N(x0) w_k(x0) w_l(x0) on a fine grid (pixel / ``oversample``
    step, padded). Its spectrum, times the detection blur and the pixel box (sinc), is stored; an
    image at one time is sum_kl exp(-q^2 MSD_k / 2) S_l F_kl, inverse transformed and sampled at
    the pixel centres. Gaussian convolution and box integration are exact in Fourier space for a
    smooth periodic field; the padding keeps the spot (and its wrap-around) far from the frame.
    """

    levels: np.ndarray
    q2_nm2: np.ndarray
    spectra: np.ndarray  # (K, K, Ly, Lx//2+1) complex
    rows: np.ndarray
    cols: np.ndarray
    fine_shape: tuple[int, int]

    def render(self, msd_nm2: np.ndarray, survival: np.ndarray) -> np.ndarray:
        """Image (excitations per dot, pixel-averaged) for per-level MSD and survival (K,)."""
        msd = np.asarray(msd_nm2, dtype=float)
        s = np.asarray(survival, dtype=float)
        k_levels = len(self.levels)
        total = np.zeros(self.q2_nm2.shape, dtype=complex)
        for k in range(k_levels):
            # hat functions overlap only with neighbours: F_kl = 0 for |k - l| > 1
            near = sum(s[j] * self.spectra[k, j]
                       for j in range(max(k - 1, 0), min(k + 2, k_levels)))
            total += np.exp(-0.5 * msd[k] * self.q2_nm2) * near
        fine = np.fft.irfft2(total, s=self.fine_shape)
        return fine[np.ix_(self.rows, self.cols)]


def spot_imager(
    microscope: Microscope, nabs: float, levels: np.ndarray, oversample: int = 5
) -> SpotImager:
    """Build the :class:`SpotImager` of a pump spot of peak <N_abs> ``nabs``."""
    n, a = int(microscope.n_pixels), microscope.pixel_nm
    if oversample < 1 or oversample % 2 == 0:
        raise InputError("oversample must be an odd positive integer")
    # pad so that the fine grid reaches 8 sigma_0 and wrap-around images stay far from the frame
    pad = max(n // 2, int(math.ceil(8.0 * microscope.apparent_sigma0_nm / a - n / 2)))
    n_fine = (n + 2 * pad) * oversample
    h = a / oversample
    x = (np.arange(n_fine) - (n_fine - 1) / 2.0) * h
    r = np.hypot(x[:, None], x[None, :])
    n_local = local_nabs(r, nabs, microscope.pump_sigma_nm)
    w = hat_weights(n_local, levels)
    qy = 2.0 * np.pi * np.fft.fftfreq(n_fine, h)
    qx = 2.0 * np.pi * np.fft.rfftfreq(n_fine, h)
    q2 = qy[:, None] ** 2 + qx[None, :] ** 2
    # real, even multipliers: blur and pixel box act in place, whatever the grid's origin
    box = np.sinc(qy[:, None] * a / (2 * np.pi)) * np.sinc(qx[None, :] * a / (2 * np.pi))
    common = box * np.exp(-0.5 * q2 * microscope.detection_variance_nm2)
    k = len(levels)
    spectra = np.zeros((k, k) + q2.shape, dtype=complex)
    for i in range(k):
        for j in range(i, min(i + 2, k)):  # hat functions overlap only with neighbours
            spec = np.fft.rfft2(n_local * w[i] * w[j]) * common
            spectra[i, j] = spec
            spectra[j, i] = spec
    # pixel centres on the fine grid: the middle sub-sample of each pixel
    centres = (np.arange(n) + pad) * oversample + (oversample - 1) // 2
    return SpotImager(np.asarray(levels, float), q2, spectra, centres, centres, (n_fine, n_fine))


def interpolate_levels(times_fs: np.ndarray, sim_times_fs: np.ndarray, values: np.ndarray):
    """Per-level values (K, T_sim) at ``times_fs`` by linear interpolation in time, (K, T)."""
    return np.stack([np.interp(times_fs, sim_times_fs, v) for v in np.asarray(values)])


def apparent_images(
    imager: SpotImager,
    microscope: Microscope,
    delay_fs: np.ndarray,
    sim_times_fs: np.ndarray,
    msd_nm2: np.ndarray,
    survival: np.ndarray,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """IRF-averaged images (excitations per dot) at each delay, shape (n_delay, ny, nx).

    ``msd_nm2`` and ``survival`` are per level (K, T_sim) at ``sim_times_fs`` (which must cover
    the IRF nodes of :func:`irf_nodes`, or they are interpolated linearly). The response before
    t = 0 contributes nothing: there are no carriers before the pump.
    """
    times, weights = irf_nodes(delay_fs, microscope.irf_sigma_fs)
    unique = np.unique(times[(weights > 0) & (times > 0)])
    msd_u = interpolate_levels(unique, sim_times_fs, msd_nm2)
    surv_u = interpolate_levels(unique, sim_times_fs, survival)
    n = int(microscope.n_pixels)
    rendered = np.empty((unique.size, n, n))
    for i in range(unique.size):
        rendered[i] = imager.render(msd_u[:, i], surv_u[:, i])
        if progress is not None:
            progress((i + 1) / unique.size)
    out = np.zeros((len(delay_fs), n, n))
    for d in range(len(delay_fs)):
        for tau, wgt in zip(times[d], weights[d], strict=True):
            if wgt > 0 and tau > 0:
                out[d] += wgt * rendered[np.searchsorted(unique, tau)]
    return out


# --- camera -------------------------------------------------------------------------------------


def probe_photons(microscope: Microscope) -> np.ndarray:
    """Mean probe photons per pixel per frame (all exposures), shape (ny, nx)."""
    x = microscope.axis_nm()
    profile = np.exp(-0.5 * (x[:, None] ** 2 + x[None, :] ** 2) / microscope.probe_sigma_nm**2)
    return microscope.probe_photons_per_pixel * microscope.exposures_per_frame * profile


def emccd_electrons(
    photons: np.ndarray, microscope: Microscope, rng: np.random.Generator
) -> np.ndarray:
    """Output electrons of an EMCCD frame for a mean number of ``photons`` per pixel.

    Photoelectrons are Poisson (mean QE x photons); the multiplication register turns n of them
    into Gamma(n, gain) electrons, the standard high-gain model whose excess noise factor is
    sqrt(2) (Basden, Haniff & Mackay, MNRAS 345, 985 (2003)); read noise adds a Gaussian of
    ``read_noise_e`` per exposure. Mean gain x QE x photons; variance
    2 gain^2 QE photons + exposures x read^2.
    """
    pe = rng.poisson(microscope.quantum_efficiency * np.asarray(photons, dtype=float))
    out = rng.gamma(np.maximum(pe, 0), microscope.em_gain)  # shape 0 gives 0 exactly
    read_sd = microscope.read_noise_e * math.sqrt(int(microscope.exposures_per_frame))
    return out + rng.normal(0.0, read_sd, out.shape)


def emccd_variance_e2(photons: np.ndarray, microscope: Microscope) -> np.ndarray:
    """Variance (e-^2) of an EMCCD frame's output, 2 gain^2 QE photons + exposures x read^2.

    The excess noise factor sqrt(2) of the multiplication register doubles the shot noise
    (Basden, Haniff & Mackay, MNRAS 345, 985 (2003)); see :func:`emccd_electrons`.
    """
    return (2 * microscope.em_gain**2 * microscope.quantum_efficiency * np.asarray(photons)
            + microscope.exposures_per_frame * microscope.read_noise_e**2)


def dT_T_noise_variance(dT_T_frame: np.ndarray, microscope: Microscope) -> np.ndarray:
    """Per-pixel variance of one run's dT/T = T_on / T_off - 1 for a noise-free frame (ny, nx).

    To first order in the noise, (V_on + V_off) / M^2 with M = gain QE P the mean pump-off output
    and V the EMCCD variance (:func:`emccd_variance_e2`), V_on taken as V_off (1 + dT/T)^2.
    """
    photons = probe_photons(microscope)
    mean = microscope.em_gain * microscope.quantum_efficiency * photons
    var = emccd_variance_e2(photons, microscope)
    return (var * (1.0 + dT_T_frame) ** 2 + var) / mean**2


def chopped_acquisition(
    dT_T: xr.DataArray,
    microscope: Microscope,
    *,
    n_runs: int,
    n_spots: int,
    seed: int | np.random.SeedSequence = 0,
    progress: Callable[[float], None] | None = None,
) -> xr.DataArray:
    """Raw camera frames of a dT/T stack: dims (spot, run, chopper, delay, y, x).

    Per (spot, run) and delay: T_off is the probe alone, T_on the probe transmitted with the pump
    on, mean T_off (1 + dT/T); both go through :func:`emccd_electrons` independently. Values are
    EMCCD output electrons (float32), chopper coords ``["on", "off"]`` as the analysis reads
    them (:func:`tamkit.preprocessing.differential.differential`). Spots are independent noise
    realisations of
    the same film (the paper averages spots to remove spot-to-spot artefacts, which tamkit does
    not model).
    """
    if int(n_runs) < 1 or int(n_spots) < 1:
        raise InputError(f"need at least one run and one spot, got {n_runs} and {n_spots}")
    values = np.asarray(dT_T.values, dtype=float)
    if np.any(values <= -1):
        raise InputError("dT/T <= -1 would make the transmitted probe negative")
    off_mean = probe_photons(microscope)[None]
    on_mean = off_mean * (1.0 + values)
    counts = np.empty((int(n_spots), int(n_runs), 2) + values.shape, dtype=np.float32)
    children = np.random.SeedSequence(seed) if isinstance(seed, int) else seed
    streams = children.spawn(int(n_spots) * int(n_runs))
    for i, child in enumerate(streams):
        rng = np.random.default_rng(child)
        spot, run = divmod(i, int(n_runs))
        counts[spot, run, 0] = emccd_electrons(on_mean, microscope, rng)
        counts[spot, run, 1] = emccd_electrons(np.broadcast_to(off_mean, values.shape),
                                               microscope, rng)
        if progress is not None:
            progress((i + 1) / len(streams))
    return xr.DataArray(
        counts,
        dims=("spot", "run", "chopper") + tuple(dT_T.dims),
        coords={"spot": np.arange(int(n_spots)), "run": np.arange(int(n_runs)),
                "chopper": ["on", "off"], **{k: dT_T[k] for k in dT_T.dims}},
        name="counts",
        attrs={**dT_T.attrs, "quantity": "counts", "counts_unit": "EMCCD output electrons"},
    )
