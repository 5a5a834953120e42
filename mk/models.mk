# mk/models.mk -- spin models of the protocol (models/README.md).
#
#   make models         every check below; fails unless each real property
#                       holds (errors: 0, complete search) and each negative
#                       control finds its counterexample (errors: 1)
#   make models-clean   remove build-models/
#
# Needs spin (Debian package `spin`) and a C compiler.  Each check runs in
# build-models/<name>/: spin -a, gcc, ./pan; the logs and any trail stay
# there (replay a trail with the command printed on failure, or see
# cmd.txt: spin -t -p <defines> <model>.pml).  Two to three minutes in all
# on 2 cores, much of it compiling the verifiers.

SPIN          ?= spin
PAN_CC        ?= gcc
PAN_CFLAGS    ?= -O2 -DSAFETY -DCOLLAPSE
PAN_RUNFLAGS  ?= -m100000
MODELS_BUILD  ?= build-models

# name : model : expected errors (0, 1 or info) : spin defines
MODEL_CHECKS := \
	notify-AB-no-lost-wakeup:notify.pml:0:-DPROP_A,-DPROP_B \
	notify-A-NO_RECHECK:notify.pml:1:-DPROP_A,-DNO_RECHECK \
	notify-A-NO_FRECHECK:notify.pml:1:-DPROP_A,-DNO_FRECHECK,-DNO_ADAPT \
	notify-A-NO_F3:notify.pml:1:-DPROP_A,-DNO_F3 \
	notify-A-NO_F1:notify.pml:1:-DPROP_A,-DNO_F1 \
	notify-A-NO_F1P:notify.pml:1:-DPROP_A,-DNO_F1P,-DNO_ADAPT \
	notify-A-WAIT_FRESH:notify.pml:1:-DPROP_A,-DWAIT_FRESH \
	notify-B-NO_RECHECK:notify.pml:1:-DPROP_B,-DNO_RECHECK \
	notify-B-NO_F3:notify.pml:1:-DPROP_B,-DNO_F3 \
	notify-B-NO_F1:notify.pml:1:-DPROP_B,-DNO_F1 \
	notify-C-force-delivered:notify.pml:info:-DPROP_C \
	notify-fd-AB-no-lost-wakeup:notify.pml:0:-DPROP_A,-DPROP_B,-DFD_MODE \
	notify-fd-A-NO_RECHECK:notify.pml:1:-DPROP_A,-DFD_MODE,-DNO_RECHECK \
	notify-fd-A-NO_FRECHECK:notify.pml:1:-DPROP_A,-DFD_MODE,-DNO_FRECHECK,-DNO_ADAPT \
	notify-fd-A-DRAIN_LATE:notify.pml:1:-DPROP_A,-DFD_MODE,-DDRAIN_LATE \
	notify-fd-A-NO_F3:notify.pml:1:-DPROP_A,-DFD_MODE,-DNO_F3 \
	notify-fd-A-NO_F1:notify.pml:1:-DPROP_A,-DFD_MODE,-DNO_F1 \
	notify-fd-A-NO_F2:notify.pml:1:-DPROP_A,-DFD_MODE,-DNO_F2,-DNO_ADAPT \
	notify-W-watermark:notify.pml:0:-DPROP_W,-DWM=2 \
	notify-W-fd-watermark:notify.pml:0:-DPROP_W,-DWM=2,-DFD_MODE \
	notify-W-NO_RECHECK:notify.pml:1:-DPROP_W,-DWM=2,-DNO_RECHECK \
	notify-W-NO_F1:notify.pml:1:-DPROP_W,-DWM=2,-DNO_F1 \
	notify-W-fd-NO_F3:notify.pml:1:-DPROP_W,-DWM=2,-DFD_MODE,-DNO_F3 \
	reserve-no-overlap:reserve.pml:0:-DRES0=3,-DRES1=2 \
	reserve-no-overlap-64:reserve.pml:0:-DSIZE=64,-DRES0=2,-DRES1=2 \
	reserve-NO_PENDING_CHECK:reserve.pml:1:-DNO_PENDING_CHECK

.PHONY: models models-clean
models:
	@command -v $(SPIN) >/dev/null || { echo "models: $(SPIN) not found (apt-get install spin)"; exit 1; }
	@mkdir -p $(MODELS_BUILD)
	@fail=0; \
	for c in $(MODEL_CHECKS); do \
		name=$${c%%:*}; rest=$${c#*:}; model=$${rest%%:*}; rest=$${rest#*:}; \
		expect=$${rest%%:*}; defs=$$(echo "$${rest#*:}" | tr ',' ' '); \
		SPIN="$(SPIN)" PAN_CC="$(PAN_CC)" PAN_CFLAGS="$(PAN_CFLAGS)" \
		PAN_RUNFLAGS="$(PAN_RUNFLAGS)" \
		sh models/check.sh $(MODELS_BUILD)/$$name models/$$model $$expect $$defs || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "models: all checks passed"; else echo "models: FAILED"; exit 1; fi

models-clean:
	rm -rf $(MODELS_BUILD)
