# The bundled demo dataset (tools/prepare_demo_data.py --out data/demo): 128x128
# images, 6 classes, each a large body with a small discriminative head.
_base_ = ['./loader.py']
data_root = 'data/demo'
num_classes = 6
train_dataloader = dict(
    num_workers=0,  # loading is cheap; worker processes only compete with the 2 CPU cores
    persistent_workers=False,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='Demo', data_root=data_root, split='train'),
        pipeline=[dict(type='RandomScale', low=0.9, high=1.1), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=128)]))
