"""Cold-start SFT (JustTinker stage 1) on veRL's own FSDP SFT trainer: preflight and launch."""
