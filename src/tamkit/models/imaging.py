"""Imaging a carrier spot: diffraction-limited spots, pixel integration, blur in quadrature.

Shared by the simulator's microscope, which renders images, and the analysis (the depletion
estimate of :mod:`tamkit.carrier_transport.depletion`), which images a depleted profile the way
the data were imaged. Per-axis variances add when Gaussian blurs (and the pixel box, to a very
good approximation) are convolved:

    sigma_imaged^2 = sigma_carrier^2 + sigma_blur^2 + a^2 / 12.

The paper's instrument (Liu et al. 2021, Methods): an NA 1.1 oil objective, a 580 nm pump and a
690 nm probe.
"""

from __future__ import annotations

import math

#: FWHM / sigma of a Gaussian, 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: sigma / (lambda / NA) of the Gaussian closest to a diffraction-limited (Airy) spot, paraxial
#: wide-field case (Zhang, Zerubia & Olivo-Marin, Appl. Opt. 46, 1819 (2007), Table 1).
AIRY_SIGMA_PER_LAMBDA_NA = 0.21
#: The paper's objective (oil immersion 100x, NA 1.1) and its pump and probe wavelengths (nm).
PAPER_NA = 1.1
PUMP_NM, PROBE_NM = 580.0, 690.0


def diffraction_limited_sigma_nm(wavelength_nm: float, numerical_aperture: float) -> float:
    """Sigma (nm) of the Gaussian approximating a diffraction-limited spot: 0.21 lambda / NA.

    Parameters
    ----------
    wavelength_nm : float
        Vacuum wavelength (nm).
    numerical_aperture : float
        Numerical aperture of the objective.

    Returns
    -------
    float
        Per-axis sigma (nm): 110.7 nm for the paper's 580 nm pump at NA 1.1.

    References
    ----------
    Zhang, Zerubia & Olivo-Marin, Appl. Opt. 46, 1819 (2007), Table 1.
    """
    return AIRY_SIGMA_PER_LAMBDA_NA * float(wavelength_nm) / float(numerical_aperture)


#: The paper's pump spot, the initial carrier distribution (nm): 0.21 x 580 / 1.1 = 110.7 nm.
PAPER_PUMP_SIGMA_NM = diffraction_limited_sigma_nm(PUMP_NM, PAPER_NA)


def pixel_integrated_variance_nm2(pixel_nm: float) -> float:
    """Variance a square pixel adds to a smooth spot seen at pixel centres: a^2 / 12 (nm^2).

    Integrating over a pixel of side a convolves the image with a box of variance a^2 / 12;
    a Gaussian evaluated at the pixel centres then fits sigma^2 + a^2 / 12 (Sheppard's
    correction, exact for a Gaussian up to terms exponentially small in (sigma / a)^2).
    """
    return pixel_nm**2 / 12.0


def imaged_sigma_nm(carrier_sigma_nm: float, blur_sigma_nm: float, pixel_nm: float) -> float:
    """Per-axis sigma (nm) of a Gaussian spot after a Gaussian blur and pixel integration.

    sqrt(carrier^2 + blur^2 + a^2 / 12): variances add under convolution.
    """
    return math.sqrt(carrier_sigma_nm**2 + blur_sigma_nm**2
                     + pixel_integrated_variance_nm2(pixel_nm))


def blur_variance_nm2(imaged_sigma_nm: float, carrier_sigma_nm: float, pixel_nm: float) -> float:
    """Variance (nm^2) of the Gaussian blur that takes a carrier spot to its imaged sigma.

    The inverse of :func:`imaged_sigma_nm`: imaged^2 - carrier^2 - a^2 / 12. Negative when the
    imaged spot is narrower than the carrier spot and the pixel alone make it (no such blur).
    """
    return imaged_sigma_nm**2 - carrier_sigma_nm**2 - pixel_integrated_variance_nm2(pixel_nm)
