#pragma once
// The six limb leads of a 12-lead ECG hold two signals, not six: III, aVR, aVL and aVF follow
// from I and II (Einthoven: III = II - I; Goldberger: aVR = -(I + II) / 2, aVL = I - II / 2,
// aVF = II - I / 2). Recording devices derive them so, and a recorded ECG keeps the relations
// up to its quantisation; a generated ECG renders the six leads each on its own and keeps them
// only approximately.
//
// Every function takes a row-major [leads x samples] signal whose first six leads are I, II,
// III, aVR, aVL, aVF (data::standard_leads()); the other leads are left as they are. InputError
// when it has fewer than six leads.
#include <array>
#include <cstdint>

namespace ecgtwin::signal {

// Each limb lead as a combination of I and II: lead = c[0] * I + c[1] * II.
const std::array<std::array<double, 2>, 6>& limb_lead_combinations();

// The root mean square, over the six limb leads and all samples (in the signal's units), of
// what the limb leads differ from the nearest ECG that keeps the relations (the projection
// below): 0 where they are kept.
double limb_lead_residual(const float* signal, std::int64_t leads, std::int64_t samples);

// Replaces the six limb leads by their orthogonal projection onto the ECGs that keep the
// relations: at every sample the (I, II) that explain all six in the least-squares sense, and
// the six recomputed from them. An ECG that keeps the relations is left unchanged, and no ECG
// is moved farther from one that keeps them: every limb lead's error is shared with the other
// five, and the part of it that breaks the relations is removed.
void project_limb_leads(float* signal, std::int64_t leads, std::int64_t samples);

// Recomputes III, aVR, aVL and aVF from I and II, as recording devices do.
void derive_limb_leads(float* signal, std::int64_t leads, std::int64_t samples);

}  // namespace ecgtwin::signal
