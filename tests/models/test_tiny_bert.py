"""The tiny BERT encoder: TF Hub interface, trainable through hub.KerasLayer, vocab for FullTokenizer."""
import helpers  # noqa: F401 - sets TF_USE_LEGACY_KERAS before TensorFlow loads
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from helpers.models import tiny_bert

TEXTS = ["What is the best way to cook rice?", "Rinse it first, then cook it like pasta.",
         "My GPU fans are LOUD after the upgrade", "Check the fan curve in the BIOS."]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    return tiny_bert.build(tmp_path_factory.mktemp("enc") / "tiny", TEXTS, seed=0)


def inputs(ids, mask, types=None):
    types = types or [[0] * len(ids[0])] * len(ids)
    return {k: tf.constant(v, tf.int32) for k, v in
            dict(input_word_ids=ids, input_mask=mask, input_type_ids=types).items()}


def test_loads_through_hub_keras_layer_with_trainable_weights(encoder_dir):
    layer = hub.KerasLayer(str(encoder_dir), trainable=True)
    x = inputs([[2, 40, 41, 3, 0, 0]], [[1, 1, 1, 1, 0, 0]], [[0, 0, 1, 1, 0, 0]])
    with tf.GradientTape() as tape:
        out = layer(x, training=True)
        loss = tf.reduce_sum(out["pooled_output"] ** 2)
    assert out["pooled_output"].shape == (1, 32) and out["sequence_output"].shape == (1, 6, 32)
    names = [w.name for w in layer.trainable_weights]
    assert any("word_embeddings" in n for n in names) and any("pooler" in n for n in names)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert sum(g is not None and float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) > 0 for g in grads) > 20
    # do_lower_case is a variable of the SavedModel, not trained
    assert bool(layer.resolved_object.do_lower_case.numpy()) is True
    assert not any("do_lower_case" in n for n in names)


def test_dropout_only_in_training_and_padding_is_masked(encoder_dir):
    layer = hub.KerasLayer(str(encoder_dir), trainable=True)
    x = inputs([[2, 40, 41, 3, 0, 0]], [[1, 1, 1, 1, 0, 0]])
    a, b = layer(x, training=False)["pooled_output"], layer(x, training=False)["pooled_output"]
    np.testing.assert_allclose(a, b)
    tf.keras.utils.set_random_seed(1)
    assert not np.allclose(layer(x, training=True)["pooled_output"], a)
    padded_differently = inputs([[2, 40, 41, 3, 57, 99]], [[1, 1, 1, 1, 0, 0]])
    np.testing.assert_allclose(layer(padded_differently)["pooled_output"], a, atol=1e-5)
    unmasked = inputs([[2, 40, 41, 3, 57, 99]], [[1, 1, 1, 1, 1, 1]])
    assert not np.allclose(layer(unmasked)["pooled_output"], a, atol=1e-3)


def test_vocab_asset_reads_through_full_tokenizer(encoder_dir):
    tiny_bert.mark_flags_parsed()
    from bert import tokenization

    obj = tf.saved_model.load(str(encoder_dir))
    vocab_file = obj.vocab_file.asset_path.numpy().decode()
    assert vocab_file.startswith(str(encoder_dir))  # the asset travels with the SavedModel
    tok = tokenization.FullTokenizer(vocab_file, do_lower_case=bool(obj.do_lower_case.numpy()))
    assert tok.tokenize("Rinse the RICE") == ["rinse", "the", "rice"]  # words of the texts are whole tokens
    pieces = tok.tokenize("Zebras!")  # an unseen word splits into known pieces, not [UNK]
    assert "[UNK]" not in pieces and "".join(p.removeprefix("##") for p in pieces) == "zebras!"
    ids = tok.convert_tokens_to_ids(["[PAD]", "[CLS]", "[SEP]"] + tok.tokenize("cook rice"))
    assert ids[:3] == [0, 2, 3] and max(ids) < len(tok.vocab)


def test_build_encoder_of_any_shape(tmp_path):
    vocab = tiny_bert.build_vocab(TEXTS, size=200)
    path = tiny_bert.build_encoder(tmp_path / "enc", vocab, tiny_bert.EncoderShape(num_layers=3, hidden_size=24, num_heads=3), seed=1)
    layer = hub.KerasLayer(str(path), trainable=True)
    out = layer(inputs([[2, 5, 3]], [[1, 1, 1]]))
    assert out["pooled_output"].shape == (1, 24)
    blocks = {w.name.split("/")[0] for w in layer.trainable_weights if w.name.startswith("layer_")}
    assert {b.rsplit("_", 1)[0] for b in blocks} >= {"layer_0", "layer_1", "layer_2"}
    assert not any(n.startswith("layer_3") for n in blocks)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        tiny_bert.EncoderShape(hidden_size=10, num_heads=3)
