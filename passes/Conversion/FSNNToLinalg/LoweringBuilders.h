//===- LoweringBuilders.h - what the fsnn lowering patterns share -*- C++ -*-//
//
// What the pattern families of convert-fsnn-to-linalg share: small builders
// of linalg, tensor and arith ops on tensors, the simulation's pieces, and
// the pattern that wraps a builder. Internal to this folder.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_CONVERSION_FSNNTOLINALG_LOWERINGBUILDERS_H
#define FSNN_PASSES_CONVERSION_FSNNTOLINALG_LOWERINGBUILDERS_H

#include "dialect/IR/FSNNDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "passes/Conversion/FSNNToLinalg/FSNNToLinalg.h"
#include "passes/Passes.h"

#include <functional>

namespace mlir::fsnn::lowering {

using utils::IteratorType;

inline constexpr IteratorType kPar = IteratorType::parallel;
inline constexpr IteratorType kRed = IteratorType::reduction;

/// A scalar float constant of type `element`.
inline Value floatConstant(OpBuilder &b, Location loc, Type element,
                           double value) {
  return arith::ConstantOp::create(b, loc, element,
                                   b.getFloatAttr(element, value));
}

inline Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Loops 0 <= ivs[k] < bounds[k], outermost first, that carry one value from
/// `init`: `body(b, ivs, carried)` builds the innermost iteration and returns
/// what it carries on. Returns the value after the last iteration. (A sum
/// carried this way stays in a register, where a linalg reduction would
/// load and store it at every term.)
inline Value
carriedLoopNest(OpBuilder &b, Location loc, ArrayRef<int64_t> bounds,
                Value init,
                function_ref<Value(OpBuilder &, ValueRange, Value)> body) {
  SmallVector<Value> ivs;
  std::function<Value(OpBuilder &, unsigned, Value)> nest =
      [&](OpBuilder &nb, unsigned level, Value state) -> Value {
    if (level == bounds.size())
      return body(nb, ivs, state);
    auto loop = scf::ForOp::create(
        nb, loc, indexConstant(nb, loc, 0),
        indexConstant(nb, loc, bounds[level]), indexConstant(nb, loc, 1),
        ValueRange{state},
        [&](OpBuilder &lb, Location, Value iv, ValueRange carried) {
          ivs.push_back(iv);
          Value result = nest(lb, level + 1, carried[0]);
          ivs.pop_back();
          scf::YieldOp::create(lb, loc, result);
        });
    return loop.getResult(0);
  };
  return nest(b, 0, init);
}

inline Value multiply(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}

/// a[2] + a[0] * a[1]: the body of a contraction.
inline Value multiplyAdd(OpBuilder &b, Location loc, ValueRange a) {
  return arith::AddFOp::create(b, loc, a[2], multiply(b, loc, a[0], a[1]));
}

/// The flags of a sum whose terms may be reassociated and fused (no oracle
/// pins down their order), so that it vectorizes.
inline arith::FastMathFlagsAttr reassociable(MLIRContext *ctx) {
  return arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::reassoc |
                                                arith::FastMathFlags::contract);
}

/// gamma * rsqrt(variance + epsilon): batch norm's per-channel scale, in a
/// linalg body.
inline Value batchNormScale(OpBuilder &b, Location loc, Type element,
                            double epsilon, Value gamma, Value variance) {
  Value eps = floatConstant(b, loc, element, epsilon);
  return arith::MulFOp::create(
      b, loc, gamma,
      math::RsqrtOp::create(b, loc,
                            arith::AddFOp::create(b, loc, variance, eps)));
}

/// clamp(g, -1, 1) / σ̂: the spectral reparameterisation's factor of V, in a
/// linalg body.
inline Value spectralFactor(OpBuilder &b, Location loc, Type element,
                            Value scale, Value sigma) {
  Value g = arith::MinimumFOp::create(
      b, loc,
      arith::MaximumFOp::create(b, loc, scale,
                                floatConstant(b, loc, element, -1.0)),
      floatConstant(b, loc, element, 1.0));
  return arith::DivFOp::create(b, loc, g, sigma);
}

/// Builders shared by the lowerings; `b` inserts before the op being lowered.
struct Lowering {
  OpBuilder &b;
  Location loc;
  /// Lower for GPU kernels: every parallel loop of a contraction outermost
  /// (one thread per output), no CPU register tiles, no event-driven
  /// scatters (whose loops carry a data-dependent count).
  bool gpu = false;
  /// LoweringOptions::vectorBits: register tiles are sized so that their
  /// accumulators fit (32 registers of 512 bits with AVX-512, 16 of 256
  /// with AVX2).
  unsigned vectorBits = 512;
  /// LoweringOptions::propagateByChange.
  bool propagateByChange = true;
  /// LoweringOptions::parallelBatch.
  bool parallelBatch = false;

  /// Marks `loop` (an scf.for, or a linalg op whose outermost loop is
  /// parallel) as one whose iterations may run on threads
  /// (kParallelLoopAttr), when the lowering is asked for such loops.
  void markParallel(Operation *loop) {
    if (parallelBatch && !gpu)
      loop->setAttr(kParallelLoopAttr, UnitAttr::get(loop->getContext()));
  }

  /// float32 lanes of one vector register.
  int64_t lanes() const { return vectorBits / 32; }

  /// The same lowering (target and options) building at `builder`.
  Lowering at(OpBuilder &builder, Location location) const {
    Lowering copy{builder, location};
    copy.gpu = gpu;
    copy.vectorBits = vectorBits;
    copy.propagateByChange = propagateByChange;
    copy.parallelBatch = parallelBatch;
    return copy;
  }

  RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  Value constant(Type element, double value) {
    return floatConstant(b, loc, element, value);
  }
  Value empty(RankedTensorType type) {
    return tensor::EmptyOp::create(b, loc, type.getShape(),
                                   type.getElementType());
  }
  Value filled(RankedTensorType type, double value) {
    Value zero = constant(type.getElementType(), value);
    auto fill = linalg::FillOp::create(b, loc, ValueRange{zero},
                                       ValueRange{empty(type)});
    markParallelIfLarge(fill);
    return fill.getResult(0);
  }
  /// A splat constant tensor, for elementwise arith on tensors.
  Value splat(RankedTensorType type, double value) {
    return arith::ConstantOp::create(
        b, loc, type,
        DenseElementsAttr::get(type,
                               b.getFloatAttr(type.getElementType(), value)));
  }
  AffineMap identity(unsigned rank) { return b.getMultiDimIdentityMap(rank); }
  /// The map from `rank` loops to the single dimension `dim`.
  AffineMap pick(unsigned rank, ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }
  Value generic(RankedTensorType resultType, ValueRange inputs, Value init,
                ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
        iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(nb, nl, body(nb, nl, args));
        });
    markParallelIfLarge(op);
    return op.getResult(0);
  }
  /// A scratch tensor of `type` for one iteration of a loop that may run on
  /// threads (markParallel): there a bufferization.alloc_tensor, which stays
  /// in the iteration (loop-invariant code motion would hoist a tensor.empty
  /// out of the loops, and the threads would share one buffer); else a
  /// tensor.empty, hoisted and allocated once.
  Value threadLocalTensor(OpBuilder &nb, RankedTensorType type) {
    if (parallelBatch && !gpu)
      return bufferization::AllocTensorOp::create(nb, loc, type, ValueRange{});
    return tensor::EmptyOp::create(nb, loc, type.getShape(),
                                   type.getElementType());
  }

  /// `x` with its dimensions permuted: result[d...] = x[d[inputDims]...] (a
  /// copy, e.g. NCHW -> NHWC with inputDims {0, 3, 1, 2}).
  Value permuted(Value x, RankedTensorType type, ArrayRef<unsigned> inputDims) {
    unsigned rank = type.getRank();
    return generic(type, ValueRange{x}, empty(type),
                   {pick(rank, inputDims), identity(rank)},
                   SmallVector<utils::IteratorType>(rank, kPar),
                   [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }

  /// Marks a generic (kParallelLoopAttr) whose outermost loop is parallel
  /// and indexes the output's first dimension, when it is worth threads:
  /// fsnn-parallelize-batch-loops then runs that loop on them.
  void markParallelIfLarge(linalg::LinalgOp op) {
    constexpr int64_t kMinimumIterations = 1 << 15;
    if (!parallelBatch || gpu || op.getNumLoops() == 0 ||
        op.getIteratorTypesArray()[0] != IteratorType::parallel)
      return;
    for (OpOperand &out : op.getDpsInitsMutable()) {
      AffineMap map = op.getMatchingIndexingMap(&out);
      if (map.getNumResults() == 0 || map.getResult(0) != b.getAffineDimExpr(0))
        return;
    }
    // Each loop's extent from an operand dimension it indexes directly; a
    // dynamic one (the Broyden history's slots in use) counts as one
    // (getStaticLoopRanges would make every loop dynamic then).
    SmallVector<int64_t> ranges(op.getNumLoops(), 1);
    for (OpOperand &operand : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&operand);
      ArrayRef<int64_t> shape = op.getShape(&operand);
      for (auto [expr, size] : llvm::zip(map.getResults(), shape))
        if (auto dim = dyn_cast<AffineDimExpr>(expr))
          if (!ShapedType::isDynamic(size))
            ranges[dim.getPosition()] = size;
    }
    int64_t iterations = 1;
    for (int64_t range : ranges)
      iterations *= range;
    if (iterations >= kMinimumIterations)
      markParallel(op);
  }
  /// `x` viewed as dim0 x (the rest): a weight's matrix (the spectral
  /// norm's), a batch's rows.
  Value matrixOf(Value x) {
    RankedTensorType type = typeOf(x);
    if (type.getRank() == 2)
      return x;
    ReassociationIndices rest =
        llvm::to_vector(llvm::seq<int64_t>(1, type.getRank()));
    auto matrixType = RankedTensorType::get(
        {type.getDimSize(0), type.getNumElements() / type.getDimSize(0)},
        type.getElementType());
    return tensor::CollapseShapeOp::create(
        b, loc, matrixType, x, SmallVector<ReassociationIndices>{{0}, rest});
  }
  /// `x` as one dimension (a view once bufferized), so that an elementwise
  /// pass over it is one long loop, which vectorizes whatever the innermost
  /// dimension's size; unflat() restores `type`.
  Value flat(Value x) {
    RankedTensorType type = typeOf(x);
    if (type.getRank() == 1)
      return x;
    auto flatType =
        RankedTensorType::get({type.getNumElements()}, type.getElementType());
    return tensor::CollapseShapeOp::create(b, loc, flatType, x,
                                           allDimensions(type));
  }
  Value unflat(RankedTensorType type, Value x) {
    if (type.getRank() == 1)
      return x;
    return tensor::ExpandShapeOp::create(b, loc, type, x, allDimensions(type));
  }
  static SmallVector<ReassociationIndices>
  allDimensions(RankedTensorType type) {
    return {llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()))};
  }
  /// `bias` broadcast along dimension `dim` of `type`, or zeros.
  Value initWithBias(RankedTensorType type, Value bias, unsigned dim) {
    if (!bias)
      return filled(type, 0.0);
    unsigned rank = type.getRank();
    return generic(type, ValueRange{bias}, empty(type),
                   {pick(rank, {dim}), identity(rank)},
                   SmallVector<IteratorType>(rank, kPar),
                   [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }
  /// `x` placed into a zero tensor of `paddedType` at `offsets`, every
  /// `strides` elements (padding, and the dilation of a transposed conv).
  /// A gather (each output element reads x or is 0) rather than an insert
  /// into a zero tensor, whose strided copy would need a runtime library.
  Value embed(Value x, RankedTensorType paddedType, ArrayRef<int64_t> offsets,
              ArrayRef<int64_t> strides) {
    RankedTensorType xType = typeOf(x);
    unsigned rank = paddedType.getRank();
    Type element = paddedType.getElementType();
    return generic(
        paddedType, ValueRange{}, empty(paddedType), {identity(rank)},
        SmallVector<IteratorType>(rank, kPar),
        [&](OpBuilder &nb, Location nl, ValueRange) {
          auto index = [&](int64_t v) { return indexConstant(nb, nl, v); };
          Value inside = arith::ConstantIntOp::create(nb, nl, 1, 1);
          SmallVector<Value> source;
          for (unsigned d = 0; d < rank; ++d) {
            Value i = linalg::IndexOp::create(nb, nl, d);
            Value shifted = arith::SubIOp::create(nb, nl, i, index(offsets[d]));
            // shifted >= 0, shifted % stride == 0, shifted / stride < size
            Value nonNegative = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::sge, shifted, index(0));
            Value clamped = arith::MaxSIOp::create(nb, nl, shifted, index(0));
            Value quotient =
                arith::DivUIOp::create(nb, nl, clamped, index(strides[d]));
            Value aligned = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::eq,
                arith::RemUIOp::create(nb, nl, clamped, index(strides[d])),
                index(0));
            Value inRange =
                arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                      quotient, index(xType.getDimSize(d)));
            inside = arith::AndIOp::create(
                nb, nl, inside,
                arith::AndIOp::create(
                    nb, nl, nonNegative,
                    arith::AndIOp::create(nb, nl, aligned, inRange)));
            source.push_back(arith::MinUIOp::create(
                nb, nl, quotient, index(xType.getDimSize(d) - 1)));
          }
          Value value = tensor::ExtractOp::create(nb, nl, x, source);
          Value zero = floatConstant(nb, nl, element, 0.0);
          return (Value)arith::SelectOp::create(nb, nl, inside, value, zero);
        });
  }
  /// An NCHW tensor zero-padded by pad[0] rows and pad[1] columns on each
  /// side (itself when both are 0).
  Value padSpatially(Value x, ArrayRef<int64_t> pad) {
    if (!pad[0] && !pad[1])
      return x;
    RankedTensorType type = typeOf(x);
    SmallVector<int64_t> shape(type.getShape());
    shape[2] += 2 * pad[0];
    shape[3] += 2 * pad[1];
    return embed(x, RankedTensorType::get(shape, type.getElementType()),
                 {0, 0, pad[0], pad[1]}, {1, 1, 1, 1});
  }

  /// The flat column index Σ_i d_i · stride_i over dimensions 1.. of a
  /// weight of `type`: how a weight's trailing dims address V_mat's columns.
  AffineMap trailingColumn(RankedTensorType type) {
    unsigned rank = type.getRank();
    AffineExpr column = b.getAffineConstantExpr(0);
    int64_t stride = 1;
    for (int i = rank - 1; i >= 1; --i) {
      column = column + b.getAffineDimExpr(i) * stride;
      stride *= type.getDimSize(i);
    }
    return AffineMap::get(rank, 0, {column}, b.getContext());
  }

  /// Mᵀ of a matrix.
  Value transposed(Value matrix) {
    // Mᵀ of a transpose is its input: the adjoint's operator applies the
    // linear map of Wᵀ (fsnn-generate-backward), whose lowering would
    // transpose it back, twice per solver iteration.
    if (auto transpose = matrix.getDefiningOp<linalg::TransposeOp>())
      if (transpose.getPermutation() == ArrayRef<int64_t>{1, 0})
        return transpose.getInput();
    RankedTensorType type = typeOf(matrix);
    auto tType = RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)},
                                       type.getElementType());
    if (!gpu && type.getDimSize(0) % kTransposeBlock == 0 &&
        type.getDimSize(1) % kTransposeBlock == 0) {
      // A batch norm folded into the weight scales its rows while they are
      // transposed (the same products): one pass over W per call, not two.
      if (auto fold = matrix.getDefiningOp<FoldBatchNormOp>();
          fold && matrix == fold.getFoldedWeight())
        return blockTransposed(fold.getWeight(), foldedRowScale(fold));
      // So does the spectral reparameterisation's clamp(g) / σ̂.
      if (auto spectral = matrix.getDefiningOp<SpectralWeightOp>();
          spectral && matrix == spectral.getResult())
        return blockTransposed(spectral.getWeight(),
                               spectralRowScale(spectral, type.getDimSize(0)));
      return blockTransposed(matrix);
    }
    return generic(tType, ValueRange{matrix}, empty(tType),
                   {pick(2, {1, 0}), identity(2)}, {kPar, kPar},
                   [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }

  /// y[i] = Σ_j M[i, j] x[j] on CPUs: each row's sum carried in a register
  /// and reassociable, so that LLVM vectorizes it (blocked partial sums, not
  /// the running order); a linalg reduction keeps the sum in memory and
  /// adds one term per few cycles. `matrix` is rows x columns.
  Value rowDots(Value matrix, Value x) {
    RankedTensorType mType = typeOf(matrix);
    Type element = mType.getElementType();
    auto rowsType = RankedTensorType::get({mType.getDimSize(0)}, element);
    auto flags = reassociable(b.getContext());
    return carriedLoopNest(
        b, loc, {mType.getDimSize(0)}, empty(rowsType),
        [&](OpBuilder &rb, ValueRange row, Value state) -> Value {
          Value sum = carriedLoopNest(
              rb, loc, {mType.getDimSize(1)},
              floatConstant(rb, loc, element, 0.0),
              [&](OpBuilder &db, ValueRange column, Value acc) -> Value {
                Value m = tensor::ExtractOp::create(
                    db, loc, matrix, ValueRange{row[0], column[0]});
                Value v = tensor::ExtractOp::create(db, loc, x, column);
                return arith::AddFOp::create(
                    db, loc, acc, arith::MulFOp::create(db, loc, m, v, flags),
                    flags);
              });
          return tensor::InsertOp::create(rb, loc, sum, state, row);
        });
  }

  /// gamma * rsqrt(variance + epsilon) per output: what a folded batch norm
  /// multiplies each row of the weight by.
  Value foldedRowScale(FoldBatchNormOp fold) {
    RankedTensorType type = typeOf(fold.getGamma());
    double epsilon = fold.getEpsilon().convertToDouble();
    return generic(type, ValueRange{fold.getGamma(), fold.getVariance()},
                   empty(type), {identity(1), identity(1), identity(1)}, {kPar},
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     return batchNormScale(nb, nl, type.getElementType(),
                                           epsilon, a[0], a[1]);
                   });
  }

  /// clamp(g, -1, 1) / σ̂ for each of `rows` rows: what the spectral
  /// reparameterisation multiplies V by (lowerSpectralWeight's factor).
  Value spectralRowScale(SpectralWeightOp spectral, int64_t rows) {
    Type element = typeOf(spectral.getWeight()).getElementType();
    auto type = RankedTensorType::get({rows}, element);
    AffineMap scalar = AffineMap::get(1, 0, {}, b.getContext());
    return generic(type, ValueRange{spectral.getScale(), spectral.getSigma()},
                   empty(type), {scalar, scalar, identity(1)}, {kPar},
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     return spectralFactor(nb, nl, element, a[0], a[1]);
                   });
  }

  /// The side of the blocks blockTransposed moves at once.
  static constexpr int64_t kTransposeBlock = 8;
  /// Mᵀ by blocks of 8 x 8 (both sides multiples of 8), each read as 8 row
  /// vectors, transposed in registers and written as 8 row vectors: the
  /// element-wise form reads one column element per store, a strided gather
  /// that cost as much as a batch-1 product with the matrix (Convolution.cpp).
  /// With `rowScale` (one factor per row of M), the rows are multiplied by
  /// their factors as they are read.
  Value blockTransposed(Value matrix, Value rowScale = Value());

  /// out[n, o, oh, ow] += in[n, c, oh*sh + kh, ow*sw + kw] * w[o, c, kh, kw]
  /// over loops (n, o, c, kh, kw, oh, ow): the output's spatial loops are
  /// innermost, contiguous in the output (and, at stride 1, in the input).
  /// At stride 1 see rowMajorConvolution, whose innermost loop is longer.
  Value convolution(Value input, Value filter, Value init, int64_t sh,
                    int64_t sw) {
    auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
    if (gpu) {
      // Loops (n, o, oh, ow, c, kh, kw): one thread per output, summing in
      // the (c, kh, kw) order of the CPU forms.
      AffineMap inputMap =
          AffineMap::get(7, 0, {d(0), d(4), d(2) * sh + d(5), d(3) * sw + d(6)},
                         b.getContext());
      return generic(
          typeOf(init), ValueRange{input, filter}, init,
          {inputMap, pick(7, {1, 4, 5, 6}), pick(7, {0, 1, 2, 3})},
          {kPar, kPar, kPar, kPar, kRed, kRed, kRed},
          [](OpBuilder &nb, Location nl, ValueRange a) {
            Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
            return (Value)arith::AddFOp::create(nb, nl, a[2], product);
          });
    }
    if (typeOf(filter).getDimSize(0) % kConvTileChannels == 0)
      return tiledRowMajorConvolution(input, filter, init, sh, sw);
    if (sh == 1 && sw == 1)
      return rowMajorConvolution(input, filter, init);
    AffineMap inputMap = AffineMap::get(
        7, 0, {d(0), d(2), d(5) * sh + d(3), d(6) * sw + d(4)}, b.getContext());
    return generic(typeOf(init), ValueRange{input, filter}, init,
                   {inputMap, pick(7, {1, 2, 3, 4}), pick(7, {0, 1, 5, 6})},
                   {kPar, kPar, kRed, kRed, kRed, kPar, kPar},
                   [](OpBuilder &nb, Location nl, ValueRange a) {
                     Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
                     return (Value)arith::AddFOp::create(nb, nl, a[2], product);
                   });
  }

  /// Output channels per register tile of tiledRowMajorConvolution.
  static constexpr int64_t kConvTileChannels = 4;

  /// rowMajorConvolution, register-tiled (Convolution.cpp): every block of
  /// kConvTileChannels output channels x a few vectors of grid positions is
  /// carried in vector registers over all (c, kh, kw), so each input vector
  /// loaded serves four channels and each output is written once. Strides
  /// sh x sw read the input as sh x sw phase planes, on whose grid every tap
  /// is contiguous again. Per output the terms arrive in the same (c, kh,
  /// kw) order: bit for bit the untiled forms.
  Value tiledRowMajorConvolution(Value input, Value filter, Value init,
                                 int64_t sh = 1, int64_t sw = 1);

  /// `init` (n x o x Ho x Wo) on a row-major grid of `gridSize` positions
  /// `width` apart per row: init[n, o, p / width, p % width] where that is an
  /// output, else a nearby output's value (computed on, then dropped).
  Value initOnGrid(Value init, int64_t gridSize, int64_t width) {
    RankedTensorType type = typeOf(init);
    int64_t ho = type.getDimSize(2), wo = type.getDimSize(3);
    auto gridType = RankedTensorType::get(
        {type.getDimSize(0), type.getDimSize(1), gridSize},
        type.getElementType());
    return generic(
        gridType, ValueRange{}, empty(gridType), {identity(3)},
        {kPar, kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange) {
          Value p = linalg::IndexOp::create(nb, nl, 2);
          Value rowWidth = indexConstant(nb, nl, width);
          Value row = arith::MinUIOp::create(
              nb, nl, arith::DivUIOp::create(nb, nl, p, rowWidth),
              indexConstant(nb, nl, ho - 1));
          Value column = arith::MinUIOp::create(
              nb, nl, arith::RemUIOp::create(nb, nl, p, rowWidth),
              indexConstant(nb, nl, wo - 1));
          return (Value)tensor::ExtractOp::create(
              nb, nl, init,
              ValueRange{linalg::IndexOp::create(nb, nl, 0),
                         linalg::IndexOp::create(nb, nl, 1), row, column});
        });
  }

  /// A stride-1 conv computed on the input's row-major grid: with the
  /// (padded) input flattened to Hp*Wp positions, output (oh, ow) sits at
  /// position p = oh*Wp + ow and reads x[c, p + kh*Wp + kw], so one loop over
  /// the p < (Ho-1)*Wp + Wo positions (the Wp - Wo between rows computed and
  /// dropped) replaces the loops over oh and ow: the innermost loop runs over
  /// hundreds of contiguous elements instead of one row of Wo. For a fixed
  /// output the terms still arrive in (c, kh, kw) order after the init, so
  /// the result is the one of `convolution`, bit for bit.
  Value rowMajorConvolution(Value input, Value filter, Value init) {
    RankedTensorType inType = typeOf(input), outType = typeOf(init);
    RankedTensorType wType = typeOf(filter);
    Type element = outType.getElementType();
    int64_t n = inType.getDimSize(0), c = inType.getDimSize(1);
    int64_t hp = inType.getDimSize(2), wp = inType.getDimSize(3);
    int64_t o = wType.getDimSize(0);
    int64_t ho = outType.getDimSize(2), wo = outType.getDimSize(3);
    int64_t positions = (ho - 1) * wp + wo;
    MLIRContext *ctx = b.getContext();
    auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
    Value flatInput = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({n, c, hp * wp}, element), input,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    auto gridType = RankedTensorType::get({n, o, positions}, element);
    Value gridInit = initOnGrid(init, positions, wp);
    AffineMap inputMap =
        AffineMap::get(6, 0, {d(0), d(2), d(5) + d(3) * wp + d(4)}, ctx);
    Value grid =
        generic(gridType, ValueRange{flatInput, filter}, gridInit,
                {inputMap, pick(6, {1, 2, 3, 4}), pick(6, {0, 1, 5})},
                {kPar, kPar, kRed, kRed, kRed, kPar},
                [](OpBuilder &nb, Location nl, ValueRange a) {
                  Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
                  return (Value)arith::AddFOp::create(nb, nl, a[2], product);
                });
    AffineMap fromGrid =
        AffineMap::get(4, 0, {d(0), d(1), d(2) * wp + d(3)}, ctx);
    return generic(outType, ValueRange{grid}, empty(outType),
                   {fromGrid, identity(4)}, {kPar, kPar, kPar, kPar},
                   [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }
};

/// (x - mean) * scale + beta, in a linalg body.
inline Value batchNormApply(OpBuilder &b, Location loc, Value x, Value mean,
                            Value scale, Value beta) {
  Value centred = arith::SubFOp::create(b, loc, x, mean);
  return arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, centred, scale), beta);
}

//===----------------------------------------------------------------------===//
// The simulation's pieces (Feedback.cpp), shared with the fused GPU kernel
//===----------------------------------------------------------------------===//

/// Whether `value` is a gradient masked by the clamp's derivative (and
/// dropout): zero wherever a neuron is outside the clamp's linear range, as
/// in the adjoint's operator, which runs up to 30 times per training step.
/// A scaling per channel keeps the zeros: batch norm with mean and β zero
/// (the transpose of batch norm on running statistics, as
/// fsnn-generate-backward writes it for the multi-layer adjoint).
inline bool isMaskedGradient(Value value) {
  auto isZeroFill = [](Value v) {
    auto fill = v.getDefiningOp<linalg::FillOp>();
    return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  };
  Operation *producer = value.getDefiningOp();
  if (auto bn = dyn_cast_or_null<BatchNormOp>(producer))
    if (isZeroFill(bn.getMean()) && isZeroFill(bn.getBeta()))
      producer = bn.getInput().getDefiningOp();
  if (auto dropout = dyn_cast_or_null<DropoutOp>(producer))
    producer = dropout.getInput().getDefiningOp();
  return isa_and_nonnull<ClampRateGradOp>(producer);
}
/// Whether `op`'s input (its first operand) is such a gradient.
inline bool hasMaskedGradientInput(Operation *op) {
  return isMaskedGradient(op->getOperand(0));
}

/// Marks a linear or conv map whose input is a spike tensor (0/1 values):
/// its lowering then only visits the neurons that fired.
inline constexpr StringLiteral kSpikeInput = "fsnn.spike_input";

/// Clones the single-block `region` at the builder's insertion point with its
/// argument bound to `argument`; returns the yielded value. With
/// `argumentIsSpikes`, the maps that read the argument and can exploit spikes
/// (SynapticMapOpInterface) are marked kSpikeInput.
Value inlineMap(OpBuilder &b, Region &region, Value argument,
                bool argumentIsSpikes = false);

/// Whether `region` can be propagated by change: an event-driven synaptic
/// map of the argument followed only by linear maps (dropout with a mask
/// from outside, flatten, average pooling). Such a region is affine,
/// R(s) = L(s) + R(0), so R(s[t]) = R(s[t-1]) + L(s[t] - s[t-1]), and
/// L visits only the neurons whose spike changed.
bool isChangeDrivable(Region &region);

/// Clones the linear part L of a change-drivable `region` (its synaptic
/// map without the bias) applied to `change` (values in {-1, 0, 1}).
Value inlineLinearPart(OpBuilder &b, Region &region, Value change);

/// acc + s Wᵀ for spikes or their changes s (values in {-1, 0, 1}), added
/// into `acc` itself, event-driven (CPU): each output receives its terms in
/// input order after its value in `acc`.
Value accumulateSpikeLinear(Lowering &l, Value spikes, Value weight, Value acc);

/// A conv or transposed conv whose padding stays within the kernel: the CPU
/// lowers it event-driven when its input is spikes (and a transposed conv,
/// which pads its dilated input by kernel - 1 - padding, only then at all).
template <typename ConvOpT> bool paddingWithinKernel(ConvOpT op) {
  ArrayRef<int64_t> pads = op.getPadding();
  RankedTensorType kernelType = op.getWeight().getType();
  return pads[0] <= kernelType.getDimSize(2) - 1 &&
         pads[1] <= kernelType.getDimSize(3) - 1;
}

/// One step of a neuron: v = u + I; spike at v >= V_th; reset by
/// subtraction (or to zero); leak; the rate accumulator and the spike count.
struct NeuronStep {
  Value potential, spike, accumulator, count;
};
NeuronStep neuronStep(OpBuilder &nb, Location nl, NeuronAttr neuron, Value u,
                      Value current, Value acc, Value count);

/// The rates are the (λ-weighted) average of the spikes, Σ λ^(T-t) s[t] /
/// Σ λ^k: the denominator.
double rateNormaliser(int64_t steps, double leak);

/// For every sample n of `rows` (batch x N), the positions of its non-zero
/// entries, compacted in order (compactNonZero) into a list, then `body`
/// (sample, the carried `acc`, the list, its length) returns the updated
/// `acc`. Each sample must write only its own rows of `acc`. With
/// Lowering::parallelBatch the samples are cut into chunks: an outer loop
/// over the chunks, marked parallel, gives each chunk its own list, so that
/// chunks can run on threads; every sample is computed as in one loop.
Value forEachSampleNonZero(
    Lowering &l, Value rows, Value acc,
    function_ref<Value(OpBuilder &, Value, Value, Value, Value)> body);

/// Per sample of `rows` (batch x N): the positions i with rows[sample, i] != 0,
/// in order, written into `list` (an i32 tensor) from position `base` on
/// (0 when null), and their count. Branch-free: with N a multiple of the
/// vector width (at most 8 lanes) by a table lookup per vector, else per
/// position.
std::pair<Value, Value> compactNonZero(Lowering &l, OpBuilder &b, Value rows,
                                       Value sample, Value list,
                                       Value base = Value());

/// Entry `at` of a list that compactNonZero wrote, as an index.
Value listedPosition(OpBuilder &b, Location loc, Value list, Value at);

/// The event-driven core shared by linear maps and convolutions on spikes
/// (ScatterSpikes.cpp): loops over every element of `spikes` (row-major, the
/// accumulator carried) and, where the spike is not 0, adds spike x
/// `weights`[weightAt(ivs)] into the window of `acc` at accAt(ivs). Both
/// windows have `windowType`. For a fixed output, contributions arrive in
/// input order and silent neurons would only add 0, so the result is the
/// dense one, bit for bit. Spikes (0, +-1) are added with fused
/// multiply-adds, exact for them; other values (`spikeValues` false: a
/// masked gradient) with the dense form's separate multiply and add.
Value scatterSpikes(
    Lowering &l, Value spikes, Value weights, Value acc,
    RankedTensorType windowType,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, ValueRange)> accAt,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, ValueRange)> weightAt,
    bool spikeValues = true);

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Emits the values that replace `op`, at it, through `l`.
template <typename OpT>
using BuildFn =
    std::function<LogicalResult(Lowering &l, OpT op, SmallVectorImpl<Value> &)>;
/// Whether a pattern applies to `op`; checked before anything is built.
template <typename OpT> using MatchFn = std::function<bool(OpT op)>;

/// One way of lowering `OpT`: where `matches` holds (always, without it),
/// the op is replaced by what `build` emits. Where several patterns match,
/// the conversion takes the one of highest benefit, so a specialised form
/// (event-driven, register-tiled) outranks the general contraction.
template <typename OpT>
class LoweringPattern : public OpConversionPattern<OpT> {
public:
  LoweringPattern(MLIRContext *context, const LoweringOptions &options,
                  BuildFn<OpT> build, MatchFn<OpT> matches,
                  PatternBenefit benefit)
      : OpConversionPattern<OpT>(context, benefit), options(options),
        build(std::move(build)), matches(std::move(matches)) {}

  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (matches && !matches(op))
      return rewriter.notifyMatchFailure(op, "not this pattern's case");
    Lowering l{rewriter, op.getLoc()};
    l.gpu = options.target == LoweringTarget::GPU;
    l.vectorBits = options.vectorBits;
    l.propagateByChange = options.propagateByChange;
    l.parallelBatch = options.parallelBatch;
    SmallVector<Value> results;
    if (failed(build(l, op, results)))
      return failure();
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  LoweringOptions options;
  BuildFn<OpT> build;
  MatchFn<OpT> matches;
};

template <typename OpT>
void addLowering(RewritePatternSet &patterns, const LoweringOptions &options,
                 BuildFn<OpT> build, MatchFn<OpT> matches = {},
                 PatternBenefit benefit = 1) {
  patterns.add<LoweringPattern<OpT>>(patterns.getContext(), options,
                                     std::move(build), std::move(matches),
                                     benefit);
}

/// A BuildFn of a lowering with one result.
template <typename OpT> BuildFn<OpT> single(Value (*build)(Lowering &, OpT)) {
  return [build](Lowering &l, OpT op, SmallVectorImpl<Value> &results) {
    results.push_back(build(l, op));
    return success();
  };
}

/// A BuildFn of a lowering that cannot fail, with several results.
template <typename OpT>
BuildFn<OpT> several(void (*build)(Lowering &, OpT, SmallVectorImpl<Value> &)) {
  return [build](Lowering &l, OpT op, SmallVectorImpl<Value> &results) {
    build(l, op, results);
    return success();
  };
}

/// The pattern families, one per file.
void populateLinearPatterns(RewritePatternSet &patterns,
                            const LoweringOptions &options);
void populateConvolutionPatterns(RewritePatternSet &patterns,
                                 const LoweringOptions &options);
void populateElementwisePatterns(RewritePatternSet &patterns,
                                 const LoweringOptions &options);
void populateFeedbackPatterns(RewritePatternSet &patterns,
                              const LoweringOptions &options);
void populateFusedFeedbackPatterns(RewritePatternSet &patterns,
                                   const LoweringOptions &options);
void populateTrainingPatterns(RewritePatternSet &patterns,
                              const LoweringOptions &options);
void populateLinearFixedPointPatterns(RewritePatternSet &patterns,
                                      const LoweringOptions &options);

/// What the patterns cannot lower yet, said before the conversion starts:
/// each emits a diagnostic on the op and fails.
LogicalResult checkConvTranspose2DSupported(ConvTranspose2DOp op);
LogicalResult checkFeedbackSupported(FeedbackOp op);

} // namespace mlir::fsnn::lowering

#endif // FSNN_PASSES_CONVERSION_FSNNTOLINALG_LOWERINGBUILDERS_H
