"""Training stage: fine-tune ImageNet-pretrained classifiers on an image folder (needs torch)."""
