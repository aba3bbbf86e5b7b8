# The training loader; dataset configs fill in the source and the pipeline.
# EpochIndexSampler seeds augmentation per (seed, epoch, index): reproducible
# with any number of workers, and across --resume.
train_dataloader = dict(
    batch_size=16,  # per GPU: use 16 // GPUs under torchrun to keep the global batch 16
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='EpochIndexSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageLabelDataset'))
