"""Save-and-exit on Slurm's request (USR1 before the time limit) ends veRL's loop with a checkpoint."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from justrl.loop_control import SAVE_REQUEST_ENV, honour_save_request


class LoopState(SimpleNamespace):
    """The attributes veRL's `fit` loop reads and the one method it calls, for the step under test."""

    def _save_checkpoint(self):
        self.saved.append(self.global_steps)


def loop_at(step: int, save_freq: int = 5) -> LoopState:
    return LoopState(config=OmegaConf.create({"trainer": {"save_freq": save_freq}}), global_steps=step, total_training_steps=4000, saved=[])


def test_no_request_leaves_the_loop_alone(tmp_path, monkeypatch):
    monkeypatch.delenv(SAVE_REQUEST_ENV, raising=False)
    state = loop_at(7)
    assert honour_save_request(state) is False
    monkeypatch.setenv(SAVE_REQUEST_ENV, str(tmp_path / "SAVE_AND_EXIT"))
    assert honour_save_request(state) is False
    assert (state.saved, state.total_training_steps) == ([], 4000)


def test_request_saves_once_ends_after_this_step_and_is_consumed(tmp_path, monkeypatch, capsys):
    request = tmp_path / "SAVE_AND_EXIT"
    request.touch()
    monkeypatch.setenv(SAVE_REQUEST_ENV, str(request))
    state = loop_at(7)
    assert honour_save_request(state) is True
    assert state.saved == [7]
    assert state.total_training_steps == 7
    assert not request.exists()
    assert capsys.readouterr().out.strip() == f"[justrl] step 7: checkpoint saved on request ({request}); exiting"


@pytest.mark.parametrize("step,saved", [(10, []), (11, [11])])
def test_request_on_a_save_freq_step_does_not_save_twice(tmp_path, monkeypatch, step, saved):
    request = tmp_path / "SAVE_AND_EXIT"
    request.touch()
    monkeypatch.setenv(SAVE_REQUEST_ENV, str(request))
    state = loop_at(step)
    honour_save_request(state)
    assert state.saved == saved
