// The suite's shared helpers and its main; the tests are in test_forms.cpp, test_views.cpp and
// test_window.cpp.
#include "test_ui.h"

json tinyRun(const QString& runDir, int steps) {
  return {{"name", "ui-test"},
          {"run_dir", runDir.toStdString()},
          {"method", "train-teacher"},
          {"student",
           {{"init",
             {{"architectures", {"MixtralForCausalLM"}},
              {"vocab_size", 99},
              {"hidden_size", 32},
              {"intermediate_size", 64},
              {"num_hidden_layers", 2},
              {"num_attention_heads", 4},
              {"num_key_value_heads", 2},
              {"num_local_experts", 4},
              {"num_experts_per_tok", 2},
              {"max_position_embeddings", 64},
              {"bos_token_id", 1},
              {"eos_token_id", 2}}}}},
          {"data",
           {{"kind", "builtin"}, {"seed", 1234}, {"train_examples", 800}, {"validation_examples", 16},
            {"test_examples", 16}, {"max_len", 32}}},
          {"train", {{"steps", steps}, {"batch_size", 8}, {"lr", 3e-3}, {"warmup_steps", 2}, {"seed", 3}}},
          {"eval", {{"every", 15}, {"samples", 4}, {"max_new_tokens", 8}}},
          {"log_every", 2},
          {"routing_every", 5},
          {"checkpoint_every", 0}};
}

void answerNextQuestion(QTimer& timer, QMessageBox::StandardButton button) {
  QObject::connect(&timer, &QTimer::timeout, &timer, [&timer, button] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      timer.stop();
      box->button(button)->click();
    }
  });
  timer.start(50);
}

QString diff(const json& a, const json& b) {
  return QString::fromStdString(json::diff(a, b).dump());
}

void saveShot(QWidget* w, const QString& name) {
  QDir().mkpath(MOEKD_SCREENSHOTS);
  const QString path = QString(MOEKD_SCREENSHOTS) + "/" + name;
  QVERIFY2(w->grab().save(path), qPrintable(path));
}


QPalette darkPalette() {
  QPalette dark;
  dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
  dark.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
  dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
  dark.setColor(QPalette::AlternateBase, QColor(0x35, 0x35, 0x35));
  dark.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
  dark.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
  dark.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
  dark.setColor(QPalette::Highlight, QColor(0x3d, 0x7a, 0xd6));
  dark.setColor(QPalette::HighlightedText, Qt::white);
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    dark.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
  return dark;
}

void TestUi::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // window settings go to a test location
  QApplication::setOrganizationName("MoE-KD Studio");
  QApplication::setApplicationName("MoE-KD Studio test");
  EngineWorker::registerMetaTypes();
}

QTEST_MAIN(TestUi)
