#pragma once
// The demo's recipes (`moekd demo`, the studio's demo presets): the built-in tasks, a small
// Mixtral-shaped MoE teacher, one dense Llama-shaped student, and the settings every demo run
// shares, so that the CLI, the studio and the tests agree on them. The teacher trained from
// demo_teacher_run() (resources/presets/demo-teacher.json holds the same run) ships with the
// project as a Hugging Face folder: resources/demo-teacher.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moekd {

nlohmann::json demo_teacher_config();  // the teacher's shape, a Hugging Face config.json object
nlohmann::json demo_student_config();

// The teacher's training run (method train-teacher), its steps multiplied by `scale`.
nlohmann::json demo_teacher_run(const std::string& run_dir, double scale = 1.0, const std::string& device = "cpu");
// The demo's student runs: sft, kd, ka, sar on the dataset's responses, and kd-on-policy,
// ka-on-policy on the student's own (distill.on_policy = 1 with the paper authors' loss: the
// reverse KL alone).
const std::vector<std::string>& demo_methods();
// One student run of `method` (one of demo_methods()) distilled from `teacher_dir`: one shape,
// one seed and one data order for every method, so that only the method differs. `student_dir`,
// when given, is the model the student starts from (the on-policy runs start from the sft run's
// student, as the paper authors' runs start from a fine-tuned one).
nlohmann::json demo_student_run(const std::string& method, const std::string& run_dir, const std::string& teacher_dir,
                                double scale = 1.0, const std::string& device = "cpu",
                                const std::string& student_dir = "");
// Whether a demo run's student writes its own answers (kd-on-policy, ka-on-policy).
bool demo_run_is_on_policy(const std::string& method);

// The shipped teacher's folder (run/resources.h); throws naming where it looked.
std::string shipped_demo_teacher();

}  // namespace moekd
