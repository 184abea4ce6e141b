"""A tokenizer built in the test (no download) with a chat template of our own that renders tools and
tool calls the way model templates do, and marks assistant turns for the loss (`{% generation %}`)."""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL = ["<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>", "<|pad|>"]

CHAT_TEMPLATE = (
    "{%- if messages[0].role == 'system' %}{{ '<|system|>' + messages[0].content }}"
    "{%- set rest = messages[1:] %}{%- else %}{{ '<|system|>' }}{%- set rest = messages %}{%- endif %}"
    "{%- if tools %}{{ '\\n<tools>' }}{%- for tool in tools %}{{ '\\n' + (tool | tojson) }}{%- endfor %}"
    "{{ '\\n</tools>' }}{%- endif %}{{ '<|end|>\\n' }}"
    "{%- for message in rest %}"
    "{%- if message.role == 'user' %}{{ '<|user|>' + message.content + '<|end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}{{ '<|assistant|>' }}{% generation %}{{ message.content or '' }}"
    "{%- for call in message.tool_calls or [] %}"
    '{{ \'<tool_call>{"id": "\' + call.id + \'", "name": "\' + call.function.name + \'", "arguments": \' }}'
    "{%- if call.function.arguments is string %}{{ call.function.arguments }}"
    "{%- else %}{{ call.function.arguments | tojson }}{%- endif %}{{ '}</tool_call>' }}"
    "{%- endfor %}{{ '<|end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{%- elif message.role == 'tool' %}{{ '<|tool|>' + message.tool_call_id + '\\n' + message.content + '<|end|>\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>' }}{%- endif %}"
)


def assistant_text(message: dict) -> str:
    """What the template puts inside an assistant turn's `{% generation %}` block."""
    out = message.get("content") or ""
    for call in message.get("tool_calls") or []:
        fn = call["function"]
        out += f'<tool_call>{{"id": "{call["id"]}", "name": "{fn["name"]}", "arguments": {fn["arguments"]}}}</tool_call>'
    return out + "<|end|>"


def build_tokenizer(texts: Iterable[str]):
    """A byte-level BPE tokenizer trained on `texts` in memory, as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=4000, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(list(texts), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=SPECIAL[:4],
        chat_template=CHAT_TEMPLATE,
    )
