// A run folder's metrics.jsonl (beside a valid config.json): every event read back, the summary made.
#include "fuzz_input.h"
#include "run/run_record.h"

int moekd_fuzz_metrics(const uint8_t* data, size_t size) {
  static const uint8_t config[] = "{\"name\": \"fuzz\", \"method\": \"kd\", \"train\": {\"steps\": 100}}";
  return moekd::fuzz::refusals_allowed([&] {
    moekd::fuzz::as_file(config, sizeof config - 1, "run/config.json");
    moekd::fuzz::as_file(data, size, "run/metrics.jsonl");
    (void)moekd::load_run((moekd::fuzz::scratch() / "run").string(), moekd::RunDetail::Full);
  });
}
