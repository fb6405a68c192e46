# bash completion for npugen (installed as share/bash-completion/completions/npugen).
# Completes the command, each command's options, option values with a fixed set (--device,
# --weight-format, ...), files after options that take a file, and model folders elsewhere.
# A new command or option: add it to the lists below (and to docs/npugen.1).

_npugen() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="generate chat tokenize detokenize template export eval compile bench pull transcribe serve"
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    local gen="-n --max-new-tokens --device -c --config -t --threads --greedy --temperature --top-k
        --top-p --min-p --repetition-penalty --seed --stop --ignore-eos --encrypt-key-file --perf"
    local opts
    case ${words[1]} in
    generate) opts="-p --prompt -f --file --prompt-ids --image --chat --system --print-ids --json --num-return-sequences $gen" ;;
    chat) opts="--system $gen" ;;
    tokenize) opts="--add-special-tokens -f" ;;
    detokenize) opts="--skip-special-tokens" ;;
    serve) opts="--model --host --port --device -c --config --parallel --ctx --queue --api-key-file --max-body
        --request-timeout --cors" ;;
    pull) opts="--revision --include -o --cache-dir -j -q" ;;
    transcribe) opts="--language --task --timestamps --word-timestamps --initial-prompt --hotwords
        --condition-on-previous-text --temperature-fallback --output-format -o --output --sample-len --print-ids --device
        -t --threads --perf" ;;
    template) opts="--template --bos-token --eos-token --messages --add-generation-prompt --kwargs" ;;
    export) opts="-m --weight-format --sym --group-size --ratio --all-layers --backup-precision --vision-format
        --dataset --num-samples --awq --scale-estimation --gptq --gptq-act-order --no-gptq-act-order --sensitivity-metric
        --overwrite --quiet" ;;
    eval) opts="--text --reference --ctx --chunks --threads --json" ;;
    compile) opts="--device -o --output -c --encrypt-key-file" ;;
    bench) opts="-p -n -t --device -c --json --no-bandwidth --sequences --audio --image ${gen/--perf/}" ;;
    *) return ;;
    esac
    opts+=" --help"

    case $prev in
    --device) COMPREPLY=($(compgen -W "CPU NPU" -- "$cur")); return ;;
    --task) COMPREPLY=($(compgen -W "transcribe translate" -- "$cur")); return ;;
    --output-format) COMPREPLY=($(compgen -W "txt srt vtt json" -- "$cur")); return ;;
    --condition-on-previous-text) COMPREPLY=($(compgen -W "0 1" -- "$cur")); return ;;
    --weight-format) COMPREPLY=($(compgen -W "fp32 fp16 int8 int4 nf4" -- "$cur")); return ;;
    --vision-format) COMPREPLY=($(compgen -W "fp16 int8 fp32" -- "$cur")); return ;;
    --backup-precision) COMPREPLY=($(compgen -W "int8_asym int8_sym none" -- "$cur")); return ;;
    --sensitivity-metric)
        COMPREPLY=($(compgen -W "weight_quantization_error hessian_input_activation mean_activation_variance
            max_activation_variance mean_activation_magnitude" -- "$cur")); return ;;
    -f | --file | --messages | --template | --text | -o | --output | --encrypt-key-file | --dataset | --image)
        COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
    -m | --reference)
        COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
    -p | --prompt | --prompt-ids | --system | -n | --max-new-tokens | -c | --config | -t | --threads | \
        --temperature | --top-k | --top-p | --min-p | --repetition-penalty | --seed | --stop | \
        --bos-token | --eos-token | --kwargs | --group-size | --ratio | --ctx | --chunks | --num-samples)
        return ;; # a value the user types
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -d -- "$cur")) # MODEL_DIR, OUT_DIR
        compopt -o filenames 2>/dev/null
    fi
}
complete -F _npugen npugen
