// Inference serving: the backend interface, the embedded onnx backend, the OpenLoRA adapter cache.
export * from './adapter-cache.ts'
export * from './backend.ts'
export * from './constants.ts'
export * from './errors.ts'
export * from './onnx-backend.ts'
export * from './queue.ts'
export * from './text-stream.ts'
export * from './gateway.ts'
