"""The smaller students' table and verdict, generated from results files and paired comparisons."""

import json

from research.students_report import students_markdown


def result(name, test_roc, validation_roc, backend="torch"):
    return {"model": name, "backend": backend,
            "metrics": {"validation_roc_auc": validation_roc,
                        "threshold_validation": {"roc_auc": test_roc},
                        "bootstrap_95ci": {"roc_auc": [test_roc - 0.001, test_roc + 0.001]}}}  # fmt: skip


def compared(model, against, roc, roc_ci, pr=0.0, pr_ci=(-0.001, 0.001)):
    def entry(difference, ci):
        return {"difference": difference, "ci95": list(ci), "established": ci[0] > 0 or ci[1] < 0}

    return {"model": model, "against": against, "roc_auc": entry(roc, roc_ci), "pr_auc": entry(pr, pr_ci)}


def write(results_dir, results, comparisons):
    for r in results:
        (results_dir / f"{r['model']}.json").write_text(json.dumps(r))
    (results_dir / "comparisons.json").write_text(json.dumps({"comparisons": comparisons}))


def test_the_table_says_where_distillation_pays_which_layers_to_keep_and_what_is_served(tmp_path):
    write(tmp_path, [
        result("student-3l-135-kd", 0.9863, 0.9840),
        result("student-3l-135-ce", 0.9850, 0.9830),
        result("student-3l-246-kd", 0.9855, 0.9835),
        result("student-3l-246-ce", 0.9854, 0.9834),
        result("student-3l-123-kd", 0.9830, 0.9800),
        # test ROC-AUC higher but validation lower: the served pick must go by validation
        result("student-3l-135-kd-int8", 0.9860, 0.9838, "onnx-int8"),
        result("student-3l-246-kd-int8", 0.9870, 0.9820, "onnx-int8"),
        result("student-2l-12-kd", 0.9840, 0.9810),
        result("student-2l-12-ce", 0.9820, 0.9790),
        result("student-4l-1234-kd-int8", 0.9880, 0.9860, "onnx-int8"),  # better, but too slow for the fast tier
    ], [
        compared("student-3l-135-kd", "student-3l-135-ce", 0.0013, (0.0005, 0.0021)),
        compared("student-3l-246-kd", "student-3l-246-ce", 0.0001, (-0.0004, 0.0006)),
        compared("student-3l-246-kd", "student-3l-135-kd", -0.0008, (-0.0015, 0.0001)),
        compared("student-3l-123-kd", "student-3l-135-kd", -0.0033, (-0.0041, -0.0025)),
        compared("student-3l-135-kd-int8", "shipped", -0.0013, (-0.0020, -0.0006)),
        compared("student-2l-12-kd", "student-2l-12-ce", 0.0020, (0.0010, 0.0030), 0.01, (0.005, 0.015)),
        compared("student-3l-135-kd", "shipped", -0.0012, (-0.0019, -0.0005)),
        compared("student-2l-12-kd", "shipped", -0.0030, (-0.0040, -0.0020)),
        compared("student-3l-246-ce", "shipped", -0.0004, (-0.0011, 0.0003)),
    ])  # fmt: skip
    text = students_markdown(tmp_path)
    rows = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ")}
    assert "| 0.9863 [0.9853, 0.9873] | 0.9850 [0.9840, 0.9860] | +0.0013 [+0.0005, +0.0021] |" in rows["1,3,5"]
    assert "+0.0001 [-0.0004, +0.0006] (n.e.)" in rows["2,4,6"] and "-0.0033 [-0.0041, -0.0025] |" in rows["1,2,3"]
    assert rows["4,5,6"].count("not scored yet") == 2
    assert "At layers 1,3,5 distillation pays: KD − CE-only is established above 0 in ROC-AUC" in text
    assert "At layers 2,4,6 KD and CE-only tie" in text
    assert "Not scored yet as a pair: layers 1,2,3 and 4,5,6 and 1,2,3,4." in text
    assert "At layers 1,2 distillation pays: KD − CE-only is established above 0 in ROC-AUC and PR-AUC" in text
    assert rows["1,2"].startswith("| 2 | 1,2 | 0.9840") and "| – | kd-int8: 0.9880" in rows["1,2,3,4"]
    assert "keep at 3 (distilled alike, ROC-AUC): worse: 1,2,3; no difference established: 2,4,6." in text
    assert "at most 3 layers by validation ROC-AUC, student-3l-135-kd, scores test ROC-AUC 0.9860" in text
    assert "-0.0013 [-0.0020, -0.0006] against the shipped model: it clears the fast tier's bar of 0.985" in text
    assert (
        "Closest to the shipped 6-layer model: student-3l-246-ce (3 layers), -0.0004 [-0.0011, +0.0003] (n.e.) "
        "ROC-AUC against it (a tie)." in text
    )
    assert f"(generated from `{tmp_path / 'comparisons.json'}`)" in text


def test_nothing_scored_is_said_plainly(tmp_path):
    text = students_markdown(tmp_path)
    assert text.count("not scored yet") == 12 and "no KD student and its CE-only twin are both scored yet" in text


def test_a_results_folder_of_its_own_fills_its_own_students_section(tmp_path, monkeypatch):
    from research import report

    monkeypatch.setattr(report, "summary_markdown", lambda results: "")  # the full table: not this test's subject

    write(tmp_path, [result("student-4l-1234-kd", 0.9874, 0.9856)], [])
    page = tmp_path / "page.md"
    page.write_text("<!-- students:start -->\nCPU table\n<!-- students:end -->\n"
                    "<!-- students-gpu-small:start -->\n<!-- students-gpu-small:end -->\n")  # fmt: skip
    assert report.update_docs(tmp_path, "results-gpu-small", pages=[page]) == [page]
    text = page.read_text()
    assert "CPU table" in text  # the other folder's table stays
    assert "| 4 | 1,2,3,4 | 0.9874 [0.9864, 0.9884] | not scored yet |" in text.split("students-gpu-small:start")[1]
