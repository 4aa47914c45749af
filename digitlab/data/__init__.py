"""What models see: MNIST, pen-written digits, not-digits, augmentation, preprocessing."""
