#!/usr/bin/env bash
# Program-level cases for train-*, generate, evaluate, edit and diagnose: pipeline.sh CASE ECGTWIN_BIN WORK_DIR
set -u
case_name=$1
bin=$2
work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
config=$work/tiny.yaml
cache=$work/cache
model=$work/model

# The digest of a model file's weights, stored in its header line.
weights() { sed -n 2p "$1" | grep -o '"weights":"[0-9a-f]*"'; }

case "$case_name" in
  setup)
    rm -rf "$work"
    mkdir -p "$work"
    cat > "$config" <<'YAML'
model:
  statements: {embedding_dim: 16, hash_buckets: 64, max_statements: 6}
  autoencoder: {channels: [8, 16, 16, 16], layers_per_block: 1, norm_groups: 4}
  extractor: {hidden: 32, depth: 1, heads: 2, ffn: 64}
  denoiser: {kind: dit, hidden: 32, depth: 2, heads: 2}
  evaluator: {channels: [8, 16], blocks_per_stage: 1, embed_dim: 8, text_hidden: 16, se_reduction: 4}
  classifier: {channels: [8, 16], blocks_per_stage: 1, se_reduction: 4}
train:
  autoencoder: {steps: 6, batch_size: 4, lr: 1.0e-3, log_every: 1}
  extractor: {steps: 4, batch_size: 4, lr: 1.0e-3}
  diffusion: {steps: 6, batch_size: 4, lr: 1.0e-3, ema_decay: 0.9}
  evaluator: {steps: 4, batch_size: 4, lr: 1.0e-3}
  classifier: {steps: 4, batch_size: 4, lr: 1.0e-3, min_count: 2}
YAML
    "$bin" -q simulate --patients 8 --records-per-patient 3 --fs 100 --seed 2 --out "$work/cohort" || fail "simulate $?"
    "$bin" -q prepare --dataset ptbxl "$work/cohort" --out "$cache" || fail "prepare $?"
    for stage in autoencoder extractor diffusion evaluator; do
      "$bin" -q --threads 1 train-$stage --config "$config" --data "$cache" --out "$model" || fail "train-$stage exit $?"
      [ -s "$model/$stage.pt" ] || fail "no $stage.pt"
      [ -s "$model/${stage}_config.yaml" ] || fail "no resolved config for $stage"
      [ -s "$model/${stage}_metrics.jsonl" ] || fail "no metrics for $stage"
    done
    # A flag overrides its config key, and the resolved config says so.
    grep -q "steps: 6" "$model/diffusion_config.yaml" || fail "resolved config"
    # A denoiser trained with condition dropout of the statements and the base vector, for
    # guidance and for ECGs of no particular person, beside the same earlier stages.
    mkdir -p "$work/model_cfg"
    cp "$model"/autoencoder.pt "$model"/extractor.pt "$model"/evaluator.pt "$work/model_cfg/"
    "$bin" -q --threads 1 train-diffusion --config "$config" --data "$cache" --out "$work/model_cfg" \
      --set diffusion.guidance=true --set diffusion.dropout.base_vector=0.5 || fail "train-diffusion with dropout exit $?"
    grep -q "base_vector: 0.5" "$work/model_cfg/diffusion_config.yaml" || fail "dropout not in the resolved config"
    ;;
  kill_resume)
    # 6 steps in one run == 3 steps, SIGKILL, --resume for the rest: identical weights.
    rm -rf "$work/resume"
    for run in straight killed; do
      mkdir -p "$work/resume/$run"
      cp "$model/autoencoder.pt" "$model/extractor.pt" "$work/resume/$run/"
    done
    "$bin" -q --threads 1 train-diffusion --config "$config" --data "$cache" --out "$work/resume/straight" \
      --checkpoint-every 3 || fail "straight run exit $?"
    "$bin" -q --threads 1 train-diffusion --config "$config" --data "$cache" --out "$work/resume/killed" \
      --checkpoint-every 3 --halt-after-step 3
    code=$?
    [ "$code" -eq 137 ] || fail "the halted run should die by SIGKILL (137), got $code"
    [ -s "$work/resume/killed/checkpoints/diffusion.ckpt" ] || fail "no checkpoint before the kill"
    [ -e "$work/resume/killed/diffusion.pt" ] && fail "a killed run must not leave a final model"
    "$bin" -q --threads 1 train-diffusion --config "$config" --data "$cache" --out "$work/resume/killed" \
      --checkpoint-every 3 --resume || fail "resume exit $?"
    a=$(weights "$work/resume/straight/diffusion.pt")
    b=$(weights "$work/resume/killed/diffusion.pt")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "weights differ after resume: $a vs $b"
    # A corrupt checkpoint is refused with exit 2 and the file named.
    ckpt="$work/resume/killed/checkpoints/diffusion.ckpt"
    printf 'x' | dd of="$ckpt" bs=1 seek=$(( $(stat -c %s "$ckpt") - 100 )) conv=notrunc 2>/dev/null
    out=$("$bin" -q train-diffusion --config "$config" --data "$cache" --out "$work/resume/killed" --resume 2>&1)
    code=$?
    [ "$code" -eq 2 ] || fail "corrupt checkpoint: exit $code"
    echo "$out" | grep -q "diffusion.ckpt" || fail "message does not name the checkpoint: $out"
    ;;
  generate)
    rm -rf "$work/refs" "$work/twins"
    mkdir -p "$work/refs"
    cp "$work/cohort/records100/00000/00001_lr.hea" "$work/cohort/records100/00000/00001_lr.dat" "$work/refs/"
    printf 'broken 12 100\n' > "$work/refs/broken.hea"
    "$bin" -q generate --model "$model" --reference "$work/refs" \
      --condition "sinus rhythm|ventricular premature complex" --hr 80 --samples 2 --sampler ddim --steps 4 \
      --seed 1 --out "$work/twins" 2> "$work/generate.err"
    code=$?
    [ "$code" -eq 2 ] || fail "a failed reference should give exit 2 after the others, got $code"
    grep -q "broken.hea" "$work/generate.err" || fail "the failed reference is not named"
    for k in 0 1; do
      for ext in hea dat npy json png; do
        f=$(ls "$work"/twins/*/*/twin_$k.$ext 2>/dev/null | head -1)
        [ -s "$f" ] || fail "missing twin_$k.$ext"
      done
    done
    grep -q '"measured_hr"' "$work/twins/summary.json" || fail "summary without measured heart rates"
    grep -q '"limb_lead_residual_mv"' "$work/twins/summary.json" || fail "summary without limb-lead residuals"
    # --limb-leads projected: every twin keeps Einthoven's and Goldberger's relations (to float
    # rounding); a value that is none of the three is refused naming the key, nothing written.
    rm -rf "$work/twins_limb" "$work/twins_limb_bad"
    "$bin" -q generate --model "$model" --reference "$work/refs/00001_lr.hea" --condition "sinus rhythm" --hr 70 \
      --samples 2 --steps 4 --no-plots --limb-leads projected --out "$work/twins_limb" > /dev/null \
      || fail "generate --limb-leads projected exit $?"
    residuals=$(sed -n 's/^ *"limb_lead_residual_mv": \([^,]*\),\{0,1\}$/\1/p' "$work/twins_limb/summary.json")
    [ "$(wc -w <<<"$residuals")" = 2 ] || fail "two twins' residuals expected: $residuals"
    for r in $residuals; do
      awk -v r="$r" 'BEGIN { exit !(r < 1e-5) }' || fail "a projected twin's limb-lead residual is $r mV"
    done
    err=$("$bin" -q generate --model "$model" --reference "$work/refs/00001_lr.hea" --condition "sinus rhythm" \
      --hr 70 --steps 4 --limb-leads einthoven --out "$work/twins_limb_bad" 2>&1)
    [ $? -eq 2 ] || fail "--limb-leads einthoven: expected exit 2"
    grep -q "sampling.limb_leads" <<<"$err" || fail "the key is not named: $err"
    [ -e "$work/twins_limb_bad" ] && fail "a refused generate left its output folder"
    # Without --reference: ECGs of no particular person, from a model trained with the base vector
    # dropped; a model trained without is refused with exit 2, --reference named, nothing written.
    rm -rf "$work/population" "$work/population_refused"
    "$bin" -q generate --model "$work/model_cfg" --condition "sinus rhythm|left bundle branch block" --hr 75 \
      --age 60 --sex M --samples 2 --steps 4 --seed 1 --out "$work/population" > "$work/population.out" \
      || fail "generate without --reference exit $?"
    grep -q "no particular person" "$work/population.out" || fail "generate without --reference: $(cat "$work/population.out")"
    for k in 0 1; do
      for ext in hea dat npy json png; do
        [ -s "$work/population/population/sinus_rhythm+left_bundle_branch_block_75bpm/ecg_$k.$ext" ] \
          || fail "missing population ecg_$k.$ext"
      done
    done
    grep -q '"population"' "$work/population/summary.json" || fail "summary without the population entry"
    "$bin" -q generate --model "$model" --condition "sinus rhythm" --hr 70 --steps 4 \
      --out "$work/population_refused" > /dev/null 2> "$work/population_refused.err"
    [ $? -eq 2 ] || fail "generate without --reference on a model without base-vector dropout: expected exit 2"
    grep -q -- "--reference" "$work/population_refused.err" || fail "--reference not named: $(cat "$work/population_refused.err")"
    [ -e "$work/population_refused" ] && fail "a refused generate left its output folder"
    # From the reference's noised latent.
    rm -rf "$work/twins_noised"
    "$bin" -q generate --model "$model" --reference "$work/cohort/records100/00000/00001_lr" \
      --condition "sinus rhythm" --hr 70 --steps 4 --start reference-noised --strength 0.5 \
      --personalise-steps 2 --candidates 2 --out "$work/twins_noised" > /dev/null || fail "generate --start exit $?"
    grep -q '"start": "reference-noised"' "$work/twins_noised/summary.json" || fail "start not recorded"
    grep -q '"candidates": 2' "$work/twins_noised/summary.json" || fail "candidates not recorded"
    grep -q '"candidate": [01],' "$work/twins_noised/summary.json" || fail "each twin's candidate not recorded"
    [ -s "$work/twins/config.yaml" ] || fail "no resolved config"
    "$bin" -q inspect "$(ls "$work"/twins/*/*/twin_0.hea | head -1)" > /dev/null || fail "twin WFDB unreadable"
    # An NPY reference stores no sampling rate: without --fs it is refused, named, and nothing
    # is left; with --fs (and its units) it gives a twin.
    rm -rf "$work/npy_ref" "$work/twins_npy"
    mkdir -p "$work/npy_ref"
    "$bin" -q convert "$work/cohort/records100/00000/00001_lr" --to npy -o "$work/npy_ref/ref.npy" || fail "convert $?"
    "$bin" -q generate --model "$model" --reference "$work/npy_ref/ref.npy" --condition "sinus rhythm" --hr 70 \
      --steps 4 --no-plots --out "$work/twins_npy" > /dev/null 2> "$work/generate_npy.err"
    [ $? -eq 2 ] || fail "an NPY reference without --fs: expected exit 2"
    grep -q "ref.npy" "$work/generate_npy.err" && grep -q -- "--fs" "$work/generate_npy.err" \
      || fail "the NPY reference or --fs not named: $(cat "$work/generate_npy.err")"
    [ -e "$work/twins_npy" ] && fail "a run without twins left $work/twins_npy"
    "$bin" -q generate --model "$model" --reference "$work/npy_ref/ref.npy" --fs 100 --units mV \
      --condition "sinus rhythm" --hr 70 --steps 4 --no-plots --out "$work/twins_npy" > /dev/null \
      || fail "generate --fs 100 exit $?"
    [ -s "$(ls "$work"/twins_npy/*/*/twin_0.npy | head -1)" ] || fail "no twin from the NPY reference"
    # A reference with a NaN sample is refused and named; the other reference still gives twins.
    "$bin" -q convert "$work/cohort/records100/00000/00001_lr" --to csv -o "$work/npy_ref/ref.csv" || fail "convert $?"
    sed '3s/^[^,]*/nan/' "$work/npy_ref/ref.csv" > "$work/npy_ref/nan.csv"
    rm -rf "$work/twins_nan"
    "$bin" -q generate --model "$model" --reference "$work/npy_ref/nan.csv" --reference "$work/npy_ref/ref.csv" \
      --fs 100 --condition "sinus rhythm" --hr 70 --steps 4 --no-plots --out "$work/twins_nan" > /dev/null \
      2> "$work/generate_nan.err"
    [ $? -eq 2 ] || fail "a reference with a NaN sample: expected exit 2"
    grep -q "nan.csv.*NaN or infinite" "$work/generate_nan.err" || fail "NaN not reported: $(cat "$work/generate_nan.err")"
    [ -s "$(ls "$work"/twins_nan/ref/*/twin_0.npy | head -1)" ] || fail "the finite reference gave no twin"
    [ -e "$work/twins_nan/nan" ] && fail "the NaN reference left a folder"
    "$bin" -q generate --model "$model" --reference "$work/npy_ref/ref.npy" --fs 100 --units volts \
      --condition "sinus rhythm" --hr 70 --steps 4 --out "$work/twins_npy_units" > /dev/null 2>&1
    [ $? -eq 2 ] || fail "--units volts: expected exit 2"
    [ -e "$work/twins_npy_units" ] && fail "a refused --units left its output folder"
    ;;
  evaluate)
    rm -rf "$work/eval"
    "$bin" -q evaluate --model "$model" --data "$cache" --ground-truth "$work/cohort" --steps 3 \
      --win-rate-persons 2 --out "$work/eval" > /dev/null || fail "evaluate exit $?"
    for key in hr_mae_bpm identification_top1 fid fid_real_baseline precision recall clip_score \
               ground_truth_win_rate ground_truth_win_rate_n ground_truth_persons; do
      grep -q "\"$key\"" "$work/eval/metrics.json" || fail "metrics.json lacks $key"
    done
    [ -s "$work/eval/report.md" ] || fail "no report"
    grep -q '"ground_truth_win_rate_n_persons": 2,' "$work/eval/metrics.json" || fail "--win-rate-persons not recorded"
    grep -q '"wins_among_n"' "$work/eval/pairs.jsonl" || fail "pairs.jsonl lacks wins_among_n"
    pairs=$(grep -c '"ground_truth"' "$work/eval/pairs.jsonl") || fail "no pairs.jsonl"
    grep -q "^  \"pairs\": $pairs,\$" "$work/eval/metrics.json" || fail "pairs.jsonl has $pairs lines, metrics.json other"
    # The sampling flags of generate: guidance (a scale other than 1 runs the unconditional pass
    # too), on the model trained with condition dropout; refused on one trained without.
    rm -rf "$work/eval_guided" "$work/eval_guided_refused" "$work/eval_none" "$work/eval_none_refused"
    "$bin" -q evaluate --model "$work/model_cfg" --data "$cache" --steps 2 --guidance 2 --eta 0.5 --max-pairs 2 \
      --base-from target --out "$work/eval_guided" > /dev/null || fail "evaluate --guidance exit $?"
    grep -q '"guidance_scale": 2.0' "$work/eval_guided/metrics.json" || fail "guidance scale not recorded"
    grep -q '"base_from": "target"' "$work/eval_guided/metrics.json" || fail "base_from not recorded"
    grep -q '"vector_isa": ' "$work/eval_guided/metrics.json" || fail "the machine not recorded"
    "$bin" -q evaluate --model "$model" --data "$cache" --steps 2 --guidance 2 --max-pairs 2 \
      --out "$work/eval_guided_refused" > /dev/null 2> "$work/eval_guided_refused.err"
    [ $? -eq 2 ] || fail "guidance on a model trained without condition dropout: expected exit 2"
    grep -q "sampling.guidance_scale" "$work/eval_guided_refused.err" || fail "guidance refusal not named"
    [ -e "$work/eval_guided_refused" ] && fail "a refused guidance left its output folder"
    # Twins of no particular person: the conditions alone.
    "$bin" -q evaluate --model "$work/model_cfg" --data "$cache" --steps 2 --max-pairs 2 --base-from none \
      --out "$work/eval_none" > /dev/null || fail "evaluate --base-from none exit $?"
    grep -q '"base_from": "none"' "$work/eval_none/metrics.json" || fail "base_from none not recorded"
    "$bin" -q evaluate --model "$model" --data "$cache" --steps 2 --max-pairs 2 --base-from none \
      --out "$work/eval_none_refused" > /dev/null 2> "$work/eval_none_refused.err"
    [ $? -eq 2 ] || fail "--base-from none on a model without base-vector dropout: expected exit 2"
    grep -q -- "--base-from" "$work/eval_none_refused.err" || fail "--base-from refusal not named"
    [ -e "$work/eval_none_refused" ] && fail "a refused --base-from none left its output folder"
    # Twins started from the reference's inverted latent, the last half of the steps taken.
    rm -rf "$work/eval_inverted" "$work/eval_bad_strength"
    "$bin" -q evaluate --model "$model" --data "$cache" --steps 4 --max-pairs 2 --start reference-inverted \
      --strength 0.5 --out "$work/eval_inverted" > /dev/null || fail "evaluate --start exit $?"
    grep -q '"start": "reference-inverted"' "$work/eval_inverted/metrics.json" || fail "start not recorded"
    grep -q '"strength": 0.5' "$work/eval_inverted/metrics.json" || fail "strength not recorded"
    # Personalised: the denoiser and the base vector fitted to each reference first.
    rm -rf "$work/eval_personalised"
    "$bin" -q evaluate --model "$model" --data "$cache" --steps 2 --max-pairs 2 --personalise-steps 3 \
      --personalise-fit both --personalise-base-lr 0.05 \
      --out "$work/eval_personalised" > /dev/null || fail "evaluate --personalise-steps exit $?"
    grep -A6 '"personalise"' "$work/eval_personalised/metrics.json" > "$work/personalise.json"
    grep -q '"steps": 3' "$work/personalise.json" || fail "personalisation not recorded"
    grep -q '"fit": "both"' "$work/personalise.json" || fail "personalise.fit not recorded"
    grep -q '"base_lr": 0.05' "$work/personalise.json" || fail "personalise.base_lr not recorded"
    out=$("$bin" evaluate --model "$model" --data "$cache" --personalise-fit weights --out "$work/eval_bad_strength" 2>&1)
    [ $? -eq 2 ] || fail "--personalise-fit weights: expected exit 2"
    echo "$out" | grep -q "personalise.fit" || fail "message does not name personalise.fit: $out"
    [ -e "$work/eval_bad_strength" ] && fail "output left behind"
    out=$("$bin" evaluate --model "$model" --data "$cache" --personalise-steps -1 --out "$work/eval_bad_strength" 2>&1)
    [ $? -eq 2 ] || fail "--personalise-steps -1: expected exit 2"
    echo "$out" | grep -q "personalise.steps" || fail "message does not name personalise.steps: $out"
    [ -e "$work/eval_bad_strength" ] && fail "output left behind"
    out=$("$bin" evaluate --model "$model" --data "$cache" --win-rate-persons 1 --out "$work/eval_bad_strength" 2>&1)
    [ $? -eq 2 ] || fail "--win-rate-persons 1: expected exit 2"
    echo "$out" | grep -q -- "--win-rate-persons" || fail "message does not name --win-rate-persons: $out"
    [ -e "$work/eval_bad_strength" ] && fail "output left behind"
    # A strength below 1 from noise is refused before anything is written.
    out=$("$bin" evaluate --model "$model" --data "$cache" --strength 0.5 --out "$work/eval_bad_strength" 2>&1)
    [ $? -eq 2 ] || fail "--strength without --start: expected exit 2"
    echo "$out" | grep -q "sampling.strength" || fail "message does not name sampling.strength: $out"
    [ -e "$work/eval_bad_strength" ] && fail "output left behind"
    ;;
  edit)
    rm -rf "$work/edit"
    "$bin" -q edit --model "$model" --reference "$work/cohort/records100/00000/00001_lr" \
      --condition "sinus rhythm" --hr 70 --to "atrial fibrillation" --mode swap --steps 4 --seed 2 \
      --out "$work/edit" > /dev/null || fail "edit exit $?"
    for f in source.hea edited.hea edited.npy edit.png maps_source.png maps_edited.png edit.json config.yaml; do
      [ -s "$work/edit/$f" ] || fail "edit: missing $f"
    done
    grep -q '"atrial fibrillation"' "$work/edit/edit.json" || fail "edit.json lacks the edited statement"
    # An NPY reference with its rate given by --fs; a NaN sample in it is refused, nothing written.
    rm -rf "$work/edit_npy" "$work/edit_nan" "$work/edit_ref"
    mkdir -p "$work/edit_ref"
    "$bin" -q convert "$work/cohort/records100/00000/00001_lr" --to csv -o "$work/edit_ref/ref.csv" || fail "convert $?"
    "$bin" -q edit --model "$model" --reference "$work/edit_ref/ref.csv" --fs 100 --condition "sinus rhythm" --hr 70 \
      --to "atrial fibrillation" --steps 4 --out "$work/edit_npy" > /dev/null || fail "edit --fs exit $?"
    [ -s "$work/edit_npy/edited.npy" ] || fail "edit --fs: no edited twin"
    sed '3s/^[^,]*/nan/' "$work/edit_ref/ref.csv" > "$work/edit_ref/nan.csv"
    out=$("$bin" -q edit --model "$model" --reference "$work/edit_ref/nan.csv" --fs 100 --condition "sinus rhythm" \
      --hr 70 --to "atrial fibrillation" --steps 4 --out "$work/edit_nan" 2>&1 > /dev/null)
    [ $? -eq 2 ] || fail "edit with a NaN sample: expected exit 2"
    echo "$out" | grep -q "nan.csv.*NaN or infinite" || fail "edit: NaN not reported: $out"
    [ -e "$work/edit_nan" ] && fail "a refused edit left its output folder"
    ;;
  diagnose)
    rm -rf "$work/diagnose_model" "$work/diagnosis" "$work/bad_diagnosis"
    # Without classifier.pt: exit 2, the file named, nothing written.
    out=$("$bin" diagnose --model "$model" --data "$cache" --out "$work/bad_diagnosis" 2>&1)
    [ $? -eq 2 ] || fail "missing classifier: expected exit 2"
    echo "$out" | grep -q "classifier.pt" || fail "message does not name classifier.pt: $out"
    [ -e "$work/bad_diagnosis" ] && fail "output left behind"
    mkdir -p "$work/diagnose_model"
    cp "$model"/{autoencoder,extractor,diffusion}.pt "$work/diagnose_model/"
    "$bin" -q --threads 1 train-classifier --config "$config" --data "$cache" --out "$work/diagnose_model" \
      || fail "train-classifier exit $?"
    [ -s "$work/diagnose_model/classifier.pt" ] || fail "no classifier.pt"
    "$bin" -q diagnose --model "$work/diagnose_model" --data "$cache" --conditions 2 --twins-per-condition 2 \
      --finetune-steps 2 --finetune-batch 4 --steps 2 --personalise-steps 3 --start reference-inverted \
      --out "$work/diagnosis" > /dev/null || fail "diagnose exit $?"
    grep -A6 '"personalise"' "$work/diagnosis/diagnosis.json" | grep -q '"steps": 3' || fail "personalisation not recorded"
    grep -q '"start": "reference-inverted"' "$work/diagnosis/diagnosis.json" || fail "start not recorded"
    for key in accuracy_without_twins macro_f1_without_twins accuracy_with_twins macro_f1_with_twins; do
      grep -q "\"$key\"" "$work/diagnosis/diagnosis.json" || fail "diagnosis.json lacks $key"
    done
    [ -s "$work/diagnosis/diagnosis.md" ] || fail "no diagnosis report"
    out=$("$bin" diagnose --model "$work/diagnose_model" --data "$cache" --replay-fraction 1.5 \
          --out "$work/bad_diagnosis" 2>&1)
    [ $? -eq 2 ] || fail "bad --replay-fraction: expected exit 2"
    echo "$out" | grep -q -- "--replay-fraction" || fail "message does not name the flag: $out"
    [ -e "$work/bad_diagnosis" ] && fail "output left behind"
    ;;
  demo)
    # The whole method in one command on a small cohort, then --resume, which keeps every
    # trained stage and gives the same metrics.
    rm -rf "$work/demo"
    small="--set demo.patients=10 --set demo.records_per_patient=3 --set demo.test_patients=4 --set demo.fs=100"
    out=$("$bin" --threads 1 demo --config "$config" $small --out "$work/demo" 2>&1) || fail "demo exit $?: $out"
    for f in metrics.json report.md config.yaml pairs.jsonl diagnosis/diagnosis.json model/diffusion.pt \
             model/classifier.pt images/heart_rate.png; do
      [ -s "$work/demo/$f" ] || fail "demo wrote no $f"
    done
    for key in hr_mae_bpm hr_mae_bpm_real identification_top1 fid fid_real_baseline precision recall \
               clip_score ground_truth_win_rate diagnosis timing; do
      grep -q "\"$key\"" "$work/demo/metrics.json" || fail "demo metrics.json lacks $key"
    done
    echo "$out" | grep -q "report: $work/demo/report.md" || fail "demo does not say where the report is: $out"
    echo "$out" | grep -q "hr_mae_bpm_real" || fail "demo does not print hr_mae_bpm_real: $out"
    grep -q "patients: 10" "$work/demo/config.yaml" || fail "demo's resolved config lacks the --set value"
    cp "$work/demo/metrics.json" "$work/demo_first.json"
    out=$("$bin" --threads 1 demo --config "$config" $small --resume --out "$work/demo" 2>&1) \
      || fail "demo --resume exit $?: $out"
    echo "$out" | grep -q "diffusion already trained, kept" || fail "demo --resume retrained: $out"
    first=$(grep -v '_s"' "$work/demo_first.json")
    again=$(grep -v '_s"' "$work/demo/metrics.json")
    [ "$first" = "$again" ] || fail "demo --resume changed the metrics"
    ;;
  bad_input)
    out=$("$bin" train-diffusion --data "$work/nowhere" --out "$work/bad_model" 2>&1)
    [ $? -eq 2 ] || fail "missing cache: expected exit 2"
    echo "$out" | grep -q "nowhere" || fail "message does not name the cache: $out"
    out=$("$bin" train-diffusion --config "$config" --set train.diffusion.stepz=3 --data "$cache" \
          --out "$work/bad_model" 2>&1)
    [ $? -eq 2 ] || fail "bad config key: expected exit 2"
    echo "$out" | grep -q "train.diffusion.stepz" || fail "message does not name the key: $out"
    out=$("$bin" train-diffusion --config "$config" --set train.diffusion.rate_balance=2 --data "$cache" \
          --out "$work/bad_model" 2>&1)
    [ $? -eq 2 ] || fail "rate_balance 2: expected exit 2"
    echo "$out" | grep -q "train.diffusion.rate_balance" || fail "message does not name the key: $out"
    # demo checks every stage's keys before it simulates anything.
    for setting in train.diffusion.rate_balance=1.5 train.diffusion.rate_augment=-1 \
                   train.diffusion.rate_augment_warp=linear train.extractor.augment=twice \
                   train.classifier.min_count=0; do
      out=$("$bin" demo --set "$setting" --out "$work/bad_demo" 2>&1)
      [ $? -eq 2 ] || fail "demo --set $setting: expected exit 2"
      echo "$out" | grep -q "${setting%%=*}" || fail "message does not name ${setting%%=*}: $out"
      [ -e "$work/bad_demo" ] && fail "demo --set $setting left output behind"
    done
    out=$("$bin" generate --model "$work/nowhere" --reference "$work/cohort/records100/00000/00001_lr" \
          --condition "sinus rhythm" --hr 70 --out "$work/bad_twins" 2>&1)
    [ $? -eq 2 ] || fail "missing model: expected exit 2"
    [ -e "$work/bad_twins" ] && fail "output left behind"
    out=$("$bin" generate --model "$model" --reference "$work/cohort/records100/00000/00001_lr" \
          --condition "sinus rhythm" --out "$work/bad_twins" 2>&1)
    [ $? -eq 2 ] || fail "missing --hr: expected exit 2"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok"
