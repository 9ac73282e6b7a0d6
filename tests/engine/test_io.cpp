// safetensors and config.json are untrusted input: every malformed file is refused with a
// message naming the file and what was wrong, never a crash. Also dtype and config round trips, and
// SentencePiece beside LibTorch.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "io/hf_config.h"
#include "io/hf_model.h"
#include "test_util.h"
#include "error_of.h"

using namespace moekd;
using namespace moekd::test;
using json = nlohmann::json;

namespace {

// A safetensors file from a header text and `data_bytes` bytes of data.
std::string write_raw(const QTemporaryDir& dir, const std::string& header, size_t data_bytes,
                      uint64_t declared_len = UINT64_MAX) {
  const auto path = dir.path().toStdString() + "/bad.safetensors";
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = declared_len == UINT64_MAX ? header.size() : declared_len;
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << std::string(data_bytes, '\0');
  return path;
}

using moekd::test::error_of;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

class TestIO : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void roundTripOfEveryDtype() {
    QTemporaryDir tmp;
    const auto path = tmp.path().toStdString() + "/t.safetensors";
    std::vector<std::pair<std::string, torch::Tensor>> tensors = {
        {"f32", torch::randn({3, 5})},
        {"f16", torch::randn({4}).to(torch::kHalf)},
        {"bf16", torch::randn({2, 2, 2}).to(torch::kBFloat16)},
        {"i64", torch::arange(7, torch::kLong)},
        {"flag", torch::tensor({true, false, true})},
        {"empty", torch::zeros({0, 3})},
        {"strided", torch::randn({6, 4}).t()},  // non-contiguous input is written contiguously
    };
    save_safetensors(path, tensors, {{"format", "pt"}});
    SafetensorsFile f(path);
    QCOMPARE(f.metadata().at("format"), std::string("pt"));
    QCOMPARE(f.entries().size(), tensors.size());
    for (const auto& [name, t] : tensors) {
      auto back = f.load(name);
      QCOMPARE(back.scalar_type(), t.scalar_type());
      QVERIFY2(torch::equal(back, t), name.c_str());
    }
  }

  void malformedFilesAreRefused_data() {
    QTest::addColumn<QString>("header");
    QTest::addColumn<int>("dataBytes");
    QTest::addColumn<qulonglong>("declaredLength");
    QTest::addColumn<QString>("message");
    const qulonglong natural = UINT64_MAX;
    QTest::newRow("header length past the end") << "{}" << 0 << qulonglong(4096) << "runs past the end of the file";
    QTest::newRow("header length absurd") << "{}" << 0 << qulonglong(1ull << 40) << "exceeds the format's limit";
    QTest::newRow("header not JSON") << "{\"a\": [1, 2" << 0 << natural << "the header: not valid JSON";
    QTest::newRow("header not an object") << "[1, 2]" << 0 << natural << "header must be a JSON object";
    QTest::newRow("offsets out of range")
        << R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})" << 8 << natural
        << "run past the data section";
    QTest::newRow("begin after end")
        << R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})" << 8 << natural << "is after end";
    QTest::newRow("size does not match shape x dtype")
        << R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})" << 8 << natural
        << "shape x dtype needs 12";
    QTest::newRow("overlapping tensors")
        << R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})"
        << 12 << natural << "overlap";
    QTest::newRow("unknown dtype")
        << R"({"w": {"dtype": "F8_E9", "shape": [2], "data_offsets": [0, 2]}})" << 2 << natural
        << "unknown dtype `F8_E9`";
    QTest::newRow("negative shape")
        << R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})" << 0 << natural
        << "non-negative integers";
    QTest::newRow("missing offsets") << R"({"w": {"dtype": "F32", "shape": [1]}})" << 4 << natural
                                     << "`data_offsets` must be [begin, end]";
    QTest::newRow("metadata not strings") << R"({"__metadata__": {"a": 1}})" << 0 << natural << "must be a string";
  }
  void malformedFilesAreRefused() {
    QFETCH(QString, header);
    QFETCH(int, dataBytes);
    QFETCH(qulonglong, declaredLength);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    const auto path = write_raw(tmp, header.toStdString(), dataBytes, declaredLength);
    const auto err = error_of([&] { SafetensorsFile f(path); });
    QVERIFY2(err.contains(message), qPrintable("got: " + err));
    QVERIFY2(err.contains("bad.safetensors"), qPrintable("message must name the file: " + err));
  }

  void truncatedFileIsRefused() {
    QTemporaryDir tmp;
    const auto path = tmp.path().toStdString() + "/short.safetensors";
    write_text(path, "abc");
    QVERIFY(error_of([&] { SafetensorsFile f(path); }).contains("truncated"));
    // And a real file cut in the middle of its data.
    save_safetensors(path, {{"w", torch::randn({64})}});
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
    QVERIFY(error_of([&] { SafetensorsFile f(path); }).contains("run past the data section"));
  }

  void shardIndexIsChecked() {
    QTemporaryDir tmp;
    const auto dir = tmp.path().toStdString();
    write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"w": "../../etc/passwd"}})");
    QVERIFY(error_of([&] { SafetensorsCheckpoint c(dir); }).contains("plain file name"));
    save_safetensors(dir + "/a.safetensors", {{"w", torch::ones({2})}});
    write_text(dir + "/model.safetensors.index.json", R"({"weight_map": {"w": "a.safetensors", "v": "a.safetensors"}})");
    QVERIFY(error_of([&] { SafetensorsCheckpoint c(dir); }).contains("`v`"));
    write_text(dir + "/model.safetensors.index.json", R"({"weights": {}})");
    QVERIFY(error_of([&] { SafetensorsCheckpoint c(dir); }).contains("weight_map"));
    QVERIFY(error_of([&] { SafetensorsCheckpoint c(dir + "/nowhere"); }).contains("no model.safetensors"));
  }

  void malformedConfigsAreRefused_data() {
    QTest::addColumn<QString>("patch");  // JSON merged into a valid Mixtral config
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown architecture") << R"({"architectures": ["GPT2LMHeadModel"]})" << "`GPT2LMHeadModel` is not supported";
    QTest::newRow("missing field") << R"({"vocab_size": null})" << "missing required field `vocab_size`";
    QTest::newRow("wrong type") << R"({"hidden_size": "32"})" << "field `hidden_size` must be an integer";
    QTest::newRow("unsupported activation") << R"({"hidden_act": "gelu"})" << "`hidden_act` = `gelu` is not supported";
    QTest::newRow("unsupported rope scaling") << R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})"
                                              << "rope scaling `yarn` is not supported";
    QTest::newRow("top-k above experts") << R"({"num_experts_per_tok": 9})" << "top-k";
    QTest::newRow("heads not a multiple of kv heads") << R"({"num_key_value_heads": 3})" << "multiple of `num_key_value_heads`";
    QTest::newRow("negative layers") << R"({"num_hidden_layers": -2})" << "num_hidden_layers";
    QTest::newRow("bad eps") << R"({"rms_norm_eps": "tiny"})" << "`rms_norm_eps` must be a number";
  }
  void malformedConfigsAreRefused() {
    QFETCH(QString, patch);
    QFETCH(QString, message);
    std::ifstream in(data_dir("hf/mixtral") + "/config.json");
    auto cfg = json::parse(in);
    cfg.merge_patch(json::parse(patch.toStdString()));
    // (merge_patch removes keys whose patch value is null: that is the missing-field row)
    const auto err = error_of([&] { config_from_hf(cfg, "my/config.json"); });
    QVERIFY2(err.contains(message), qPrintable("got: " + err));
    QVERIFY2(err.startsWith("my/config.json"), qPrintable("message must name the file: " + err));
  }

  void configFileThatIsNotJsonIsRefused() {
    QTemporaryDir tmp;
    const auto path = tmp.path().toStdString() + "/config.json";
    write_text(path, "{ \"architectures\": [\"MixtralForCausalLM\"], ");
    const auto err = error_of([&] { load_hf_config(path); });
    QVERIFY2(err.contains("not valid JSON") && err.contains("config.json"), qPrintable(err));
  }

  void configRoundTripsThroughHuggingFaceJson_data() {
    QTest::addColumn<int>("family");
    for (const auto& [name, fam] : all_families()) QTest::newRow(name) << static_cast<int>(fam);
  }
  void configRoundTripsThroughHuggingFaceJson() {
    QFETCH(int, family);
    auto c = tiny_config(static_cast<Family>(family), 3);
    c.rope_theta = 12345.0;
    const auto back = config_from_hf(config_to_hf(c), "round trip");
    QCOMPARE(config_to_hf(back).dump(), config_to_hf(c).dump());
    QCOMPARE(back.num_moe_layers(), c.num_moe_layers());
    for (size_t i = 0; i < c.layers.size(); ++i) {
      QCOMPARE(back.layers[i].expert_sizes, c.layers[i].expert_sizes);
      QCOMPARE(back.layers[i].score_scale, c.layers[i].score_scale);
    }
    QCOMPARE(static_cast<int>(back.moe.weight_rule), static_cast<int>(c.moe.weight_rule));
    QCOMPARE(back.qk_norm, c.qk_norm);
    QCOMPARE(back.clip_qkv, c.clip_qkv);
  }

  void checkpointNotMatchingItsConfigIsRefused() {
    auto model = tiny_model(Family::Qwen2Moe, 3);
    QTemporaryDir tmp;
    const auto dir = tmp.path().toStdString();
    save_pretrained(model, dir);
    auto tensors = hub_state_dict(model);

    auto missing = tensors;
    missing.erase(std::remove_if(missing.begin(), missing.end(),
                                 [](auto& p) { return p.first == "model.layers.0.mlp.experts.3.up_proj.weight"; }),
                  missing.end());
    save_safetensors(dir + "/model.safetensors", missing);
    auto err = error_of([&] { load_pretrained(dir); });
    QVERIFY2(err.contains("missing tensor `model.layers.0.mlp.experts.3.up_proj.weight`"), qPrintable(err));

    auto extra = tensors;
    extra.emplace_back("model.layers.0.mlp.experts.4.up_proj.weight", torch::zeros({24, 32}));
    save_safetensors(dir + "/model.safetensors", extra);
    err = error_of([&] { load_pretrained(dir); });
    QVERIFY2(err.contains("unexpected tensor `model.layers.0.mlp.experts.4.up_proj.weight`"), qPrintable(err));

    auto reshaped = tensors;
    for (auto& [name, t] : reshaped)
      if (name == "model.layers.1.self_attn.k_proj.weight") t = torch::zeros({8, 32});
    save_safetensors(dir + "/model.safetensors", reshaped);
    err = error_of([&] { load_pretrained(dir); });
    QVERIFY2(err.contains("`model.layers.1.self_attn.k_proj.weight` has shape [8, 32], expected [16, 32]"), qPrintable(err));

    auto integer = tensors;
    for (auto& [name, t] : integer)
      if (name == "model.norm.weight") t = t.to(torch::kLong);
    save_safetensors(dir + "/model.safetensors", integer);
    err = error_of([&] { load_pretrained(dir); });
    QVERIFY2(err.contains("expected a floating type"), qPrintable(err));
  }

  void pickledCheckpointsAreNotLoaded() {
    QTemporaryDir tmp;
    const auto dir = tmp.path().toStdString();
    write_text(dir + "/config.json", config_to_hf(tiny_config(Family::Llama)).dump());
    write_text(dir + "/pytorch_model.bin", "PK\x03\x04 pickle");
    const auto err = error_of([&] { load_pretrained(dir); });
    QVERIFY2(err.contains("pickled .bin checkpoints are not loaded"), qPrintable(err));
  }

  // libsentencepiece and LibTorch cannot share a process's symbols (protobuf); the tokenizer goes
  // through libmoekd_spm. This process has LibTorch loaded: the ids must equal Python's.
  void sentencePieceWorksBesideLibTorch() {
    if (!kSentencePieceBesideLibTorch) {  // refused by name rather than aborting the process
      try {
        load_tokenizer(data_dir("spm/tiny.model"));
        QFAIL("a sanitized build loaded SentencePiece beside LibTorch");
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("AddressSanitizer") != std::string::npos, e.what());
      }
      return;
    }
    auto tok = load_tokenizer(data_dir("spm/tiny.model"));
    std::ifstream in(data_dir("spm/expected.json"));
    const auto expected = json::parse(in);
    QCOMPARE(tok->vocab_size(), expected["model"]["vocab_size"].get<int64_t>());
    QCOMPARE(tok->eos_id(), expected["model"]["eos_id"].get<int64_t>());
    QCOMPARE(tok->pad_id(), tok->eos_id());  // the model has no pad piece
    for (const auto& c : expected["cases"]) {
      const auto ids = tok->encode(c["text"].get<std::string>());
      QCOMPARE(ids, c["ids"].get<std::vector<int64_t>>());
      QCOMPARE(tok->decode(ids), c["decoded"].get<std::string>());
    }
  }
};

QTEST_APPLESS_MAIN(TestIO)
#include "test_io.moc"
