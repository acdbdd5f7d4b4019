//===- LinearFixedPoint.cpp - the adjoint's linear fixed point
//--------------===//
//
// fsnn.linear_fixed_point as an scf.for over its iterations (Broyden with
// the paper's memory, Anderson, or plain fixed point) with the operator region
// inlined into the body, whose fsnn ops the other patterns lower.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/IRMapping.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

/// The paper's Broyden keeps this many rank-one updates (docs/method.md §3.3).
constexpr int64_t kBroydenMemory = 27;
/// Anderson mixes this many past iterates, with the normal equations
/// regularised by this much of (1 + their trace), as the reference executor
/// does (runtime/reference/Solvers.h).
constexpr int64_t kAndersonMemory = 5;
constexpr double kAndersonRegularization = 1e-10;

/// The Anderson weights of every sample: alpha = G^-1 1 / (1ᵀ G^-1 1) for
/// the Gram matrix G of its last `used` residuals (slots < used of `gram`,
/// B x M x M in f64), regularised; the weights of unused slots are 0. Per
/// (sample, slot) the M x M system is eliminated in registers (Gauss, no
/// pivoting: G is positive definite), the unused part as the identity with a
/// zero right-hand side.
Value andersonWeights(Lowering &l, Value gram, Value used,
                      RankedTensorType coeffsType) {
  int64_t m = l.typeOf(gram).getDimSize(1);
  return l.generic(
      coeffsType, ValueRange{}, l.empty(coeffsType), {l.identity(2)},
      {kPar, kPar}, [&](OpBuilder &b, Location loc, ValueRange) -> Value {
        Type f64 = b.getF64Type();
        Value sample = linalg::IndexOp::create(b, loc, 0);
        Value slot = linalg::IndexOp::create(b, loc, 1);
        auto constant = [&](double v) { return floatConstant(b, loc, f64, v); };
        SmallVector<Value> inUse;
        for (int64_t i = 0; i < m; ++i)
          inUse.push_back(
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                    indexConstant(b, loc, i), used));
        SmallVector<SmallVector<Value>> a(m, SmallVector<Value>(m));
        Value trace = constant(0.0);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < m; ++j) {
            a[i][j] = tensor::ExtractOp::create(
                b, loc, gram,
                ValueRange{sample, indexConstant(b, loc, i),
                           indexConstant(b, loc, j)});
            if (i == j)
              trace = arith::AddFOp::create(
                  b, loc, trace,
                  arith::SelectOp::create(b, loc, inUse[i], a[i][i],
                                          constant(0.0)));
          }
        Value regularization = arith::MulFOp::create(
            b, loc, constant(kAndersonRegularization),
            arith::AddFOp::create(b, loc, constant(1.0), trace));
        SmallVector<Value> y(m);
        for (int64_t i = 0; i < m; ++i) {
          y[i] = arith::SelectOp::create(b, loc, inUse[i], constant(1.0),
                                         constant(0.0));
          for (int64_t j = 0; j < m; ++j) {
            Value both = arith::AndIOp::create(b, loc, inUse[i], inUse[j]);
            Value entry = i == j ? (Value)arith::AddFOp::create(b, loc, a[i][j],
                                                                regularization)
                                 : a[i][j];
            a[i][j] = arith::SelectOp::create(b, loc, both, entry,
                                              constant(i == j ? 1.0 : 0.0));
          }
        }
        for (int64_t k = 0; k < m; ++k)
          for (int64_t i = k + 1; i < m; ++i) {
            Value factor = arith::DivFOp::create(b, loc, a[i][k], a[k][k]);
            for (int64_t j = k + 1; j < m; ++j)
              a[i][j] = arith::SubFOp::create(
                  b, loc, a[i][j],
                  arith::MulFOp::create(b, loc, factor, a[k][j]));
            y[i] = arith::SubFOp::create(
                b, loc, y[i], arith::MulFOp::create(b, loc, factor, y[k]));
          }
        SmallVector<Value> x(m);
        Value sum = constant(0.0);
        for (int64_t i = m - 1; i >= 0; --i) {
          Value rest = y[i];
          for (int64_t j = i + 1; j < m; ++j)
            rest = arith::SubFOp::create(
                b, loc, rest, arith::MulFOp::create(b, loc, a[i][j], x[j]));
          x[i] = arith::DivFOp::create(b, loc, rest, a[i][i]);
          sum = arith::AddFOp::create(b, loc, sum, x[i]);
        }
        Value weight = constant(0.0);
        for (int64_t i = 0; i < m; ++i)
          weight = arith::SelectOp::create(
              b, loc,
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, slot,
                                    indexConstant(b, loc, i)),
              x[i], weight);
        Value normalised = arith::DivFOp::create(b, loc, weight, sum);
        Type element = coeffsType.getElementType();
        return element == f64 ? normalised
                              : (Value)arith::TruncFOp::create(b, loc, element,
                                                               normalised);
      });
}

/// Batch x features views of the solve's variable, and the reductions and
/// updates of the solvers over them.
struct SolverBuilder {
  Lowering &l;
  RankedTensorType flat;    // B x D
  RankedTensorType rows;    // B
  RankedTensorType history; // B x M x D
  RankedTensorType coeffs;  // B x M
  Type element;

  Value c(OpBuilder &b, Location loc, double v) {
    return floatConstant(b, loc, element, v);
  }
  /// An elementwise op over B x D operands and B-vectors (`perRow`).
  Value map(ValueRange full, ValueRange perRow,
            function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    SmallVector<Value> inputs(full);
    inputs.append(perRow.begin(), perRow.end());
    SmallVector<AffineMap> maps(full.size(), l.identity(2));
    maps.append(perRow.size(), l.pick(2, {0}));
    maps.push_back(l.identity(2));
    return l.generic(flat, inputs, l.empty(flat), maps, {kPar, kPar}, body);
  }
  /// out[b, k] = Σ_d a[b, k, d] x[b, d] (`a` of rank 3), or out[b] =
  /// Σ_d a[b, d] x[b, d] (rank 2), as loops whose dot product accumulates
  /// in an iteration argument: a linalg reduction would keep the sum in
  /// memory, loading and storing it at every term. The sum may be
  /// reassociated (and so vectorized): no oracle pins the order of the
  /// solver's dot products down.
  Value dots(Value a, Value x, RankedTensorType resultType,
             Value slotsUsed = {}) {
    OpBuilder &b = l.b;
    Location loc = l.loc;
    bool perSlot = l.typeOf(a).getRank() == 3;
    if (l.gpu) {
      // A linalg reduction: one thread per (row, slot), the sum over d in
      // it.
      unsigned rank = perSlot ? 3 : 2;
      SmallVector<IteratorType> iterators(rank, kPar);
      iterators.back() = kRed;
      return l.generic(resultType, ValueRange{a, x}, l.filled(resultType, 0.0),
                       {l.identity(rank), l.pick(rank, {0, rank - 1}),
                        l.pick(rank, perSlot ? ArrayRef<unsigned>{0, 1}
                                             : ArrayRef<unsigned>{0})},
                       iterators, multiplyAdd);
    }
    int64_t batchSize = flat.getDimSize(0), features = flat.getDimSize(1);
    int64_t slots = perSlot ? l.typeOf(a).getDimSize(1) : 1;
    auto flags = reassociable(b.getContext());
    // Slots from slotsUsed on are never read (combine stops there too).
    Value slotBound = slotsUsed ? slotsUsed : indexConstant(b, loc, slots);
    Value perRow = carriedLoopNest(
        b, loc, {batchSize}, l.empty(resultType),
        [&](OpBuilder &rb, ValueRange rowOnly, Value rowState) -> Value {
          Value row = rowOnly[0];
          return scf::ForOp::create(
                     rb, loc, indexConstant(rb, loc, 0), slotBound,
                     indexConstant(rb, loc, 1), ValueRange{rowState},
                     [&](OpBuilder &sb, Location, Value slot,
                         ValueRange slotState) {
                       Value state = slotState[0];
                       Value sum = carriedLoopNest(
                           sb, loc, {features},
                           floatConstant(sb, loc, element, 0.0),
                           [&](OpBuilder &db, ValueRange feature,
                               Value acc) -> Value {
                             SmallVector<Value> at = {row};
                             if (perSlot)
                               at.push_back(slot);
                             at.push_back(feature[0]);
                             Value av =
                                 tensor::ExtractOp::create(db, loc, a, at);
                             Value xv = tensor::ExtractOp::create(
                                 db, loc, x, ValueRange{row, feature[0]});
                             Value product =
                                 arith::MulFOp::create(db, loc, av, xv, flags);
                             return arith::AddFOp::create(db, loc, acc, product,
                                                          flags);
                           });
                       SmallVector<Value> to = {row};
                       if (perSlot)
                         to.push_back(slot);
                       scf::YieldOp::create(
                           sb, loc,
                           tensor::InsertOp::create(sb, loc, sum, state, to)
                               .getResult());
                     })
              .getResult(0);
        });
    // Each row's sums are its own.
    l.markParallel(perRow.getDefiningOp<scf::ForOp>());
    return perRow;
  }
  /// Per row: Σ_d x[b, d] y[b, d].
  Value rowSum(Value x, Value y) { return dots(x, y, rows); }
  Value rowNorm(Value x) {
    Value squares = rowSum(x, x);
    return l.generic(rows, ValueRange{squares}, l.empty(rows),
                     {l.identity(1), l.identity(1)}, {kPar},
                     [](OpBuilder &b, Location loc, ValueRange a) {
                       return (Value)math::SqrtOp::create(b, loc, a[0]);
                     });
  }
  /// coeffs[b, k] = Σ_d H[b, k, d] x[b, d] for the slots k < slotsUsed
  /// (CPU; every slot on GPUs, whose unused slots hold zeros).
  Value project(Value h, Value x, Value slotsUsed) {
    return dots(h, x, coeffs, l.gpu ? Value() : slotsUsed);
  }
  /// sign * x + Σ_{k < slotsUsed} H[b, k, d] coeffs[b, k] (the sum alone
  /// when `x` is null). The unused slots hold zeros, so stopping at
  /// slotsUsed leaves every sum as it was while the solve reads about half
  /// the history on average.
  Value combine(Value h, Value coefficients, Value x, double sign,
                Value slotsUsed) {
    if (!l.gpu) {
      OpBuilder &b = l.b;
      Location loc = l.loc;
      int64_t batch = flat.getDimSize(0), features = flat.getDimSize(1);
      Value zero = indexConstant(b, loc, 0);
      h = tensor::ExtractSliceOp::create(
          b, loc, h, ValueRange{zero, zero, zero},
          ValueRange{indexConstant(b, loc, batch), slotsUsed,
                     indexConstant(b, loc, features)},
          ValueRange{indexConstant(b, loc, 1), indexConstant(b, loc, 1),
                     indexConstant(b, loc, 1)});
      coefficients = tensor::ExtractSliceOp::create(
          b, loc, coefficients, ValueRange{zero, zero},
          ValueRange{indexConstant(b, loc, batch), slotsUsed},
          ValueRange{indexConstant(b, loc, 1), indexConstant(b, loc, 1)});
    }
    // Loops (b, k, d): the innermost runs over contiguous features.
    Value sum =
        l.generic(flat, ValueRange{h, coefficients}, l.filled(flat, 0.0),
                  {l.identity(3), l.pick(3, {0, 1}), l.pick(3, {0, 2})},
                  {kPar, kRed, kPar}, multiplyAdd);
    if (!x)
      return sum;
    return map(ValueRange{x, sum}, {},
               [&](OpBuilder &b, Location loc, ValueRange a) {
                 return (Value)arith::AddFOp::create(
                     b, loc, multiply(b, loc, a[0], c(b, loc, sign)), a[1]);
               });
  }
  /// Zero where not finite (the paper's code replaces NaNs in u and w).
  Value finiteOrZero(Value x) {
    return map(ValueRange{x}, {},
               [&](OpBuilder &b, Location loc, ValueRange a) {
                 Value magnitude = math::AbsFOp::create(b, loc, a[0]);
                 Value finite =
                     arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                           magnitude, c(b, loc, INFINITY));
                 return (Value)arith::SelectOp::create(b, loc, finite, a[0],
                                                       c(b, loc, 0.0));
               });
  }
  /// history[:, slot, :] = x, as one elementwise update of the history
  /// (a strided insert would bufferize to a copy that needs a runtime
  /// library).
  Value store(Value historyValue, Value x, Value slot) {
    if (!l.gpu) {
      // On CPUs only the slot is written: its row of each sample is a view
      // the copy writes into in place (the slice keeps its unit dimension,
      // so that the insert's view is the extract's and no copy remains).
      OpBuilder &b = l.b;
      Location loc = l.loc;
      int64_t batch = flat.getDimSize(0), features = flat.getDimSize(1);
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), slot,
                                           b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {
          b.getIndexAttr(batch), b.getIndexAttr(1), b.getIndexAttr(features)};
      SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
      auto rowType = RankedTensorType::get({batch, 1, features}, element);
      Value row = tensor::ExtractSliceOp::create(b, loc, rowType, historyValue,
                                                 offsets, sizes, strides);
      Value written =
          l.generic(rowType, ValueRange{x}, row,
                    {l.pick(3, {0, 2}), l.identity(3)}, {kPar, kPar, kPar},
                    [](OpBuilder &, Location, ValueRange a) { return a[0]; });
      return tensor::InsertSliceOp::create(b, loc, written, historyValue,
                                           offsets, sizes, strides);
    }
    return l.generic(
        history, ValueRange{x}, historyValue,
        {l.pick(3, {0, 2}), l.identity(3)}, {kPar, kPar, kPar},
        [&](OpBuilder &b, Location loc, ValueRange a) {
          Value k = linalg::IndexOp::create(b, loc, 1);
          Value here =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, k, slot);
          return (Value)arith::SelectOp::create(b, loc, here, a[0], a[1]);
        });
  }
};

void lowerLinearFixedPoint(Lowering &outer, LinearFixedPointOp op,
                           SmallVectorImpl<Value> &results) {
  OpBuilder &b = outer.b;
  bool gpu = outer.gpu;
  Location loc = op.getLoc();
  RankedTensorType type = op.getRhs().getType();
  Type element = type.getElementType();
  int64_t batch = type.getDimSize(0);
  int64_t dim = type.getNumElements() / batch;
  bool broyden = op.getSolver() == SolverKind::Broyden;
  bool anderson = op.getSolver() == SolverKind::Anderson;
  int64_t memory =
      anderson ? kAndersonMemory
               : std::max<int64_t>(1, std::min<int64_t>(kBroydenMemory,
                                                        op.getMaxIterations()));
  double tolerance = op.getTolerance().convertToDouble();
  auto flatType = RankedTensorType::get({batch, dim}, element);
  auto rowsType = RankedTensorType::get({batch}, element);
  auto historyType = RankedTensorType::get({batch, memory, dim}, element);
  auto coeffsType = RankedTensorType::get({batch, memory}, element);

  ReassociationIndices rest;
  for (unsigned i = 1; i < type.getRank(); ++i)
    rest.push_back(i);
  SmallVector<ReassociationIndices> groups = {{0}, rest};
  auto toFlat = [&](OpBuilder &nb, Value x) -> Value {
    if (type.getRank() == 2)
      return x;
    return tensor::CollapseShapeOp::create(nb, loc, flatType, x, groups);
  };
  auto toShape = [&](OpBuilder &nb, Value x) -> Value {
    if (type.getRank() == 2)
      return x;
    return tensor::ExpandShapeOp::create(nb, loc, type, x, groups);
  };
  Value rhs = toFlat(b, op.getRhs());
  Block &operatorBlock = op.getOperator().front();
  // r(x) = A x + rhs - x, with the operator inlined at the builder.
  auto residualOf = [&](SolverBuilder &sb, Value x) {
    IRMapping mapping;
    mapping.map(operatorBlock.getArgument(0), toShape(sb.l.b, x));
    for (Operation &inner : operatorBlock.without_terminator())
      sb.l.b.clone(inner, mapping);
    Value ax = toFlat(
        sb.l.b,
        mapping.lookup(
            cast<YieldOp>(operatorBlock.getTerminator()).getValues()[0]));
    return sb.map(ValueRange{ax, rhs, x}, {},
                  [](OpBuilder &nb, Location nl, ValueRange a) {
                    return (Value)arith::SubFOp::create(
                        nb, nl, arith::AddFOp::create(nb, nl, a[0], a[1]),
                        a[2]);
                  });
  };

  // x0 = 0, so r0 = rhs (A is linear); the best iterate so far is x0.
  Lowering l = outer.at(b, loc);
  SolverBuilder s{l, flatType, rowsType, historyType, coeffsType, element};
  Value x0 = l.filled(flatType, 0.0);
  Value r0 = rhs;
  Value norm0 = s.rowNorm(r0);
  // The paper's first Broyden step is -r0 (docs/method.md §3.3).
  Value step0 =
      s.map(ValueRange{r0}, {}, [&](OpBuilder &nb, Location nl, ValueRange a) {
        return (Value)arith::NegFOp::create(nb, nl, a[0]);
      });
  Value active0 = l.filled(rowsType, tolerance > 0 ? 0.0 : 1.0);
  if (tolerance > 0)
    active0 =
        l.generic(rowsType, ValueRange{norm0}, l.empty(rowsType),
                  {l.identity(1), l.identity(1)}, {kPar},
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value below = arith::CmpFOp::create(
                        nb, nl, arith::CmpFPredicate::OLT, a[0],
                        floatConstant(nb, nl, element, tolerance));
                    return (Value)arith::SelectOp::create(
                        nb, nl, below, floatConstant(nb, nl, element, 0.0),
                        floatConstant(nb, nl, element, 1.0));
                  });
  SmallVector<Value> init = {x0, r0, step0, x0, norm0, active0};
  auto gramType =
      RankedTensorType::get({batch, memory, memory}, b.getF64Type());
  if (broyden || anderson) {
    // CPUs read only the slots written so far (project, combine): the
    // history needs no zeros, whose fill cost 2 x B x 27 x D stores per
    // solve. GPUs read every slot. (Broyden: its u and w; Anderson: the
    // past residuals r and map values x + r, and their Gram matrix.)
    for (int copy = 0; copy < 2; ++copy)
      init.push_back(gpu ? l.filled(historyType, 0.0) : l.empty(historyType));
  }
  if (anderson)
    init.push_back(l.filled(gramType, 0.0));
  // The global residual of the start, for the protective stop.
  auto scalarType = RankedTensorType::get({}, element);
  auto globalNorm = [&](Lowering &lw, Value norms) -> Value {
    AffineMap toScalar = AffineMap::get(1, 0, {}, lw.b.getContext());
    Value squares = lw.generic(
        scalarType, ValueRange{norms, norms}, lw.filled(scalarType, 0.0),
        {lw.identity(1), lw.identity(1), toScalar}, {kRed}, multiplyAdd);
    return math::SqrtOp::create(
        lw.b, loc, tensor::ExtractOp::create(lw.b, loc, squares, ValueRange{}));
  };
  Value startNorm = globalNorm(l, norm0);
  // Iterations after the solve has stopped (every sample converged, or the
  // protective stop of the paper's code: the global residual above 10^6
  // times the start) do nothing.
  init.push_back(arith::ConstantIntOp::create(b, loc, 1, 1));
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0),
      indexConstant(b, loc, op.getMaxIterations()), indexConstant(b, loc, 1),
      init, [&](OpBuilder &ob, Location, Value it, ValueRange carried) {
        ValueRange state = carried.drop_back();
        auto guard = scf::IfOp::create(ob, loc, ValueRange(carried).getTypes(),
                                       carried.back(), /*withElseRegion=*/true);
        // Builders that tell the conversion about every op they create
        // (the operator's fsnn ops are cloned into the then-region).
        OpBuilder eb(ob.getContext(), ob.getListener());
        eb.setInsertionPointToStart(&guard.getElseRegion().front());
        scf::YieldOp::create(eb, loc, carried);
        OpBuilder lb(ob.getContext(), ob.getListener());
        lb.setInsertionPointToStart(&guard.getThenRegion().front());
        Lowering li = outer.at(lb, loc);
        SolverBuilder si{li,          flatType,   rowsType,
                         historyType, coeffsType, element};
        Value x = state[0], r = state[1], step = state[2], best = state[3],
              bestNorm = state[4], active = state[5];
        // The history's slots in use once this iteration has written its
        // own: min(it + 1, memory).
        Value memorySize = indexConstant(lb, loc, memory);
        Value slotsAfterThisUpdate = arith::MinUIOp::create(
            lb, loc,
            arith::AddIOp::create(lb, loc, it, indexConstant(lb, loc, 1)),
            memorySize);
        // Samples that converged keep their iterate.
        Value next;
        SmallVector<Value> andersonState;
        if (anderson) {
          // The history takes (r, x + r) at slot it mod M, the Gram matrix
          // the new residual's dots with every residual kept, and the
          // next iterate is the weighted sum of the map values x + r.
          Value R = state[6], F = state[7], gram = state[8];
          Value slot = arith::RemUIOp::create(lb, loc, it, memorySize);
          Value used = slotsAfterThisUpdate;
          Value mapped =
              si.map(ValueRange{x, r}, {},
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       return (Value)arith::AddFOp::create(nb, nl, a[0], a[1]);
                     });
          Value RNext = si.store(R, r, slot);
          Value FNext = si.store(F, mapped, slot);
          Value dotsWithNew = si.project(RNext, r, used);
          Value gramNext = li.generic(
              gramType, ValueRange{dotsWithNew}, gram,
              {li.pick(3, {0, 2}), li.identity(3)}, {kPar, kPar, kPar},
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                Value i = linalg::IndexOp::create(nb, nl, 1);
                Value j = linalg::IndexOp::create(nb, nl, 2);
                auto is = [&](Value v) {
                  return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                               v, slot);
                };
                // G[slot][j] = r . R_j (read at (b, j)), and G[i][slot] =
                // r . R_i, which is read at (b, i): the generic reads the
                // dots at (b, j), so the column takes them by a second
                // lookup.
                Value row = a[0];
                Value column = tensor::ExtractOp::create(
                    nb, nl, dotsWithNew,
                    ValueRange{linalg::IndexOp::create(nb, nl, 0), i});
                auto widen = [&](Value v) -> Value {
                  return v.getType() == nb.getF64Type()
                             ? v
                             : (Value)arith::ExtFOp::create(nb, nl,
                                                            nb.getF64Type(), v);
                };
                Value updated = arith::SelectOp::create(
                    nb, nl, is(i), widen(row),
                    arith::SelectOp::create(nb, nl, is(j), widen(column),
                                            a[1]));
                return updated;
              });
          Value weights = andersonWeights(li, gramNext, used, coeffsType);
          Value mixed = si.combine(FNext, weights, Value(), 0.0, used);
          next = si.map(ValueRange{mixed, x}, ValueRange{active},
                        [](OpBuilder &nb, Location nl, ValueRange a) {
                          Value on = arith::CmpFOp::create(
                              nb, nl, arith::CmpFPredicate::ONE, a[2],
                              floatConstant(nb, nl, a[2].getType(), 0.0));
                          return (Value)arith::SelectOp::create(nb, nl, on,
                                                                a[0], a[1]);
                        });
          andersonState = {RNext, FNext, gramNext};
        } else {
          next = si.map(ValueRange{x, broyden ? step : r}, ValueRange{active},
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          return (Value)arith::AddFOp::create(
                              nb, nl, a[0], multiply(nb, nl, a[1], a[2]));
                        });
        }
        Value rNext = residualOf(si, next);
        Value norm = si.rowNorm(rNext);
        // Keep each sample's best iterate (docs/method.md §3.3).
        Value improved = li.generic(
            rowsType, ValueRange{norm, bestNorm}, li.empty(rowsType),
            {li.identity(1), li.identity(1), li.identity(1)}, {kPar},
            [](OpBuilder &nb, Location nl, ValueRange a) {
              Value better = arith::CmpFOp::create(
                  nb, nl, arith::CmpFPredicate::OLT, a[0], a[1]);
              return (Value)arith::SelectOp::create(nb, nl, better, a[0], a[1]);
            });
        Value bestNext = si.map(
            ValueRange{next, best}, ValueRange{norm, bestNorm},
            [](OpBuilder &nb, Location nl, ValueRange a) {
              Value better = arith::CmpFOp::create(
                  nb, nl, arith::CmpFPredicate::OLT, a[2], a[3]);
              return (Value)arith::SelectOp::create(nb, nl, better, a[0], a[1]);
            });
        Value activeNext = active;
        if (tolerance > 0)
          activeNext = li.generic(
              rowsType, ValueRange{active, norm}, li.empty(rowsType),
              {li.identity(1), li.identity(1), li.identity(1)}, {kPar},
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                Value below = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OLT, a[1],
                    floatConstant(nb, nl, element, tolerance));
                return (Value)arith::SelectOp::create(
                    nb, nl, below, floatConstant(nb, nl, element, 0.0), a[0]);
              });
        SmallVector<Value> yielded = {next,     rNext,    step,
                                      bestNext, improved, activeNext};
        if (broyden) {
          Value U = state[6], Wt = state[7];
          auto difference = [&](Value a, Value c) {
            return si.map(ValueRange{a, c}, {},
                          [](OpBuilder &nb, Location nl, ValueRange v) {
                            return (Value)arith::SubFOp::create(nb, nl, v[0],
                                                                v[1]);
                          });
          };
          Value dx = difference(next, x), dr = difference(rNext, r);
          // w = Hᵀ dx, H dr, with H = -I + Σ_k u_k w_kᵀ.
          // The slots written so far: min(it, memory) before this
          // iteration's update, one more after it.
          Value used = arith::MinUIOp::create(lb, loc, it, memorySize);
          Value usedAfter = slotsAfterThisUpdate;
          Value w = si.combine(Wt, si.project(U, dx, used), dx, -1.0, used);
          Value hdr = si.combine(U, si.project(Wt, dr, used), dr, -1.0, used);
          Value denominator = si.rowSum(w, dr);
          Value u = si.finiteOrZero(si.map(
              ValueRange{dx, hdr}, ValueRange{denominator},
              [](OpBuilder &nb, Location nl, ValueRange a) {
                return (Value)arith::DivFOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]), a[2]);
              }));
          w = si.finiteOrZero(w);
          Value slot = arith::RemUIOp::create(lb, loc, it,
                                              indexConstant(lb, loc, memory));
          Value UNext = si.store(U, u, slot);
          Value WtNext = si.store(Wt, w, slot);
          // The next step -H r = r - Σ_k u_k (w_k · r).
          Value hr = si.combine(UNext, si.project(WtNext, rNext, usedAfter),
                                rNext, -1.0, usedAfter);
          yielded[2] = si.map(
              ValueRange{hr}, {}, [](OpBuilder &nb, Location nl, ValueRange a) {
                return (Value)arith::NegFOp::create(nb, nl, a[0]);
              });
          yielded.push_back(UNext);
          yielded.push_back(WtNext);
        }
        yielded.append(andersonState.begin(), andersonState.end());
        Value globalResidual = globalNorm(li, norm);
        Value bounded = arith::CmpFOp::create(
            lb, loc, arith::CmpFPredicate::OLE, globalResidual,
            arith::MulFOp::create(lb, loc, startNorm,
                                  floatConstant(lb, loc, element, 1e6)));
        Value running = bounded;
        if (tolerance > 0) {
          AffineMap toScalar = AffineMap::get(1, 0, {}, lb.getContext());
          Value activeCount = li.generic(
              scalarType, ValueRange{activeNext}, li.filled(scalarType, 0.0),
              {li.identity(1), toScalar}, {kRed},
              [](OpBuilder &nb, Location nl, ValueRange a) {
                return (Value)arith::AddFOp::create(nb, nl, a[0], a[1]);
              });
          Value anyActive = arith::CmpFOp::create(
              lb, loc, arith::CmpFPredicate::OGT,
              tensor::ExtractOp::create(lb, loc, activeCount, ValueRange{}),
              floatConstant(lb, loc, element, 0.0));
          running = arith::AndIOp::create(lb, loc, running, anyActive);
        }
        yielded.push_back(running);
        scf::YieldOp::create(lb, loc, yielded);
        scf::YieldOp::create(ob, loc, guard.getResults());
      });
  results.push_back(toShape(b, loop.getResult(3)));
  results.push_back(loop.getResult(4));
}

} // namespace

void mlir::fsnn::lowering::populateLinearFixedPointPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<LinearFixedPointOp>(patterns, options,
                                  several(lowerLinearFixedPoint));
}
