# The bundled demo dataset (tools/prepare_demo_data.py --out data/demo): 128x128
# images, 6 classes, each with a small discriminative head and a large body.
data_root = 'data/demo'
num_classes = 6
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='EpochIndexSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageLabelDataset',
        num_classes=num_classes,
        source=dict(type='Demo', data_root=data_root, split='train'),
        pipeline=[dict(type='RandomScale', low=0.9, high=1.1), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=128)]))
