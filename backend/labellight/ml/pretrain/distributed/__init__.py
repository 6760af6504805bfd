"""Pretraining over several processes (DistributedDataParallel): the launcher (:mod:`.launch`), the
process entry point (:mod:`.pretrain`), one rank's run (:mod:`.run`) and the CPU sync batch norm (:mod:`.norm`)."""
